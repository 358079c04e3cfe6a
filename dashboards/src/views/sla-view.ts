import { type PlaceSla, type VillageSla, slaResponseSchema } from '@village/protocol/api';
import { api } from '../api-client.js';
import { type AppData, villageName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, duration, t } from '../i18n.js';

const LEVEL: Record<PlaceSla['level'], MessageKey> = { village: 'village', town: 'town', county: 'county' };

/** Per village, town and county over every response, joined alerts and re-arms included. */
function placeTable(rows: PlaceSla[], data: AppData): HTMLElement {
  const ms = (v: number | null) => (v === null ? '—' : duration(v));
  const name = (r: PlaceSla) =>
    r.level === 'village'
      ? villageName(data, r.place)
      : r.level === 'town'
        ? (data.places.find((p) => p.town === r.place)?.townName ?? r.place)
        : (data.places.find((p) => p.county === r.place)?.countyName ?? r.place);
  return el(
    'table',
    { class: 'sla by-place' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...(['level', 'place', 'responses', 'withinTarget', 'median', 'p90'] as MessageKey[]).map((k) =>
          el('th', {}, t(k)),
        ),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map((r) =>
        el(
          'tr',
          { 'data-level': r.level, 'data-place': r.place },
          el('td', {}, t(LEVEL[r.level])),
          el('td', {}, name(r)),
          el('td', {}, r.responses),
          el('td', {}, r.shareWithinTarget === null ? '—' : `${Math.round(r.shareWithinTarget * 100)}%`),
          el('td', {}, ms(r.medianResponseMs)),
          el('td', {}, ms(r.p90ResponseMs)),
        ),
      ),
    ),
  );
}

/** Response figures per village over the last 30 days (GET /sla), then per village, town and county. */
export function renderSla(root: HTMLElement, data: AppData): () => void {
  const to = Date.now();
  root.replaceChildren(el('p', {}, t('loading')));
  void api(`/sla?from=${to - 30 * 86_400_000}&to=${to}`, slaResponseSchema)
    .catch(() => ({ villages: [] as VillageSla[], byPlace: [] as PlaceSla[] }))
    .then(({ villages, byPlace }) => {
      const ms = (v: number | null) => (v === null ? '—' : duration(v));
      root.replaceChildren(
        villages.length === 0
          ? el('p', { class: 'empty' }, t('noData'))
          : el(
              'table',
              { class: 'sla' },
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  ...(
                    [
                      'village',
                      'incidentsCount',
                      'acknowledged',
                      'withinTarget',
                      'median',
                      'p90',
                    ] as MessageKey[]
                  ).map((k) => el('th', {}, t(k))),
                ),
              ),
              el(
                'tbody',
                {},
                ...villages.map((v) =>
                  el(
                    'tr',
                    { 'data-village': v.village },
                    el('td', {}, villageName(data, v.village)),
                    el('td', {}, v.incidents),
                    el('td', {}, v.acknowledged),
                    el(
                      'td',
                      {},
                      v.withinTargetShare === null ? '—' : `${Math.round(v.withinTargetShare * 100)}%`,
                    ),
                    el('td', {}, ms(v.medianResponseMs)),
                    el('td', {}, ms(v.p90ResponseMs)),
                  ),
                ),
              ),
            ),
        byPlace && byPlace.length > 0 ? placeTable(byPlace, data) : '',
      );
    });
  return () => {};
}
