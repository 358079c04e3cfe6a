import { type AppData, deviceOffline, formatValue, stationName } from '../app-data.js';
import { el } from '../dom-element.js';
import { ago, duration, t } from '../i18n.js';

/**
 * Edge and device health from what the cloud knows: each edge's online state and last contact
 * (an offline edge holds its readings in its outbox, so its oldest unsent reading is at least as
 * old as the outage: that lower bound is the backlog shown), offline devices, and battery levels
 * reported as a `battery` metric.
 */
export function renderHealth(root: HTMLElement, data: AppData): () => void {
  const now = Date.now();
  const stationOfEdge = (edge: string) => data.devices.find((d) => d.edge === edge)?.station ?? null;
  root.replaceChildren(
    el('h2', {}, t('edges')),
    el(
      'table',
      { class: 'edges' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['edges', 'station', 'state', 'lastSeen', 'backlog'].map((k) => el('th', {}, t(k as 'edges'))),
        ),
      ),
      el(
        'tbody',
        {},
        ...data.edges.map((e) =>
          el(
            'tr',
            { 'data-edge': e.id, class: e.online ? '' : 'bad' },
            el('td', {}, e.id),
            el('td', {}, stationName(data, stationOfEdge(e.id))),
            el('td', {}, e.online ? t('online') : t('offline')),
            el('td', {}, ago(e.lastSeen, now)),
            el(
              'td',
              { title: t('backlogNote') },
              !e.online && e.lastSeen !== null ? `≥ ${duration(now - e.lastSeen)}` : '—',
            ),
          ),
        ),
      ),
    ),
    el('p', { class: 'hint' }, t('backlogNote')),
    el('h2', {}, t('devices')),
    el(
      'table',
      { class: 'devices' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['devices', 'station', 'state', 'battery', 'lastSeen'].map((k) =>
            el('th', {}, t(k as 'devices')),
          ),
        ),
      ),
      el(
        'tbody',
        {},
        ...[...data.devices]
          .sort((a, b) => Number(deviceOffline(data, b, now)) - Number(deviceOffline(data, a, now)))
          .map((d) => {
            const off = deviceOffline(data, d, now);
            return el(
              'tr',
              { 'data-device-row': d.id, class: off ? 'bad' : '' },
              el('td', {}, d.id, el('small', {}, ` ${d.kind}`)),
              el('td', {}, stationName(data, d.station)),
              el('td', {}, off ? t('offline') : t('online')),
              el('td', {}, formatValue(data.latest.get(`${d.id}|battery`))),
              el('td', {}, ago(d.lastSeen, now)),
            );
          }),
      ),
    ),
  );
  return () => {};
}
