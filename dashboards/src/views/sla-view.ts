import { api } from '../api-client.js';
import type { VillageSla } from '../api-types.js';
import { type AppData, villageName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, duration, t } from '../i18n.js';

/** Response figures per village over the last 30 days (GET /sla). */
export function renderSla(root: HTMLElement, data: AppData): () => void {
  const to = Date.now();
  root.replaceChildren(el('p', {}, t('loading')));
  void api<{ villages: VillageSla[] }>(`/sla?from=${to - 30 * 86_400_000}&to=${to}`)
    .catch(() => ({ villages: [] as VillageSla[] }))
    .then(({ villages }) => {
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
      );
    });
  return () => {};
}
