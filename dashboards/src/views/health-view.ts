import { type AppData, formatValue, stationName } from '../app-data.js';
import { deviceOffline } from '../device-offline.js';
import { el } from '../dom-element.js';
import { ago, duration, t } from '../i18n.js';

/**
 * An edge's backlog: from its last state report (oldest unsent age and readings held) while it is
 * online; while offline at least the outage, or the age it last reported plus the time since.
 */
function backlogText(e: AppData['edges'][number], now: number): string {
  const outbox = e.state?.report.outbox;
  const reportedMs =
    outbox?.oldestUnsentAgeS != null ? outbox.oldestUnsentAgeS * 1000 + (now - e.state!.receivedAt) : null;
  if (!e.online) {
    const outage = e.lastSeen === null ? null : now - e.lastSeen;
    const atLeast = Math.max(outage ?? 0, reportedMs ?? 0);
    return outage === null && reportedMs === null ? '—' : `≥ ${duration(atLeast)}`;
  }
  if (!outbox || outbox.oldestUnsentAgeS === null) return '—';
  return `${duration(outbox.oldestUnsentAgeS * 1000)} · ${outbox.pendingReadings + outbox.pendingEvents}`;
}

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
            {
              'data-edge': e.id,
              class: e.online && !e.alerts?.some((a) => a.clearedAt === null) ? '' : 'bad',
            },
            el('td', {}, e.id),
            el('td', {}, stationName(data, stationOfEdge(e.id))),
            el('td', {}, e.online ? t('online') : t('offline')),
            el('td', {}, ago(e.lastSeen, now)),
            el('td', { title: t('backlogNote'), 'data-backlog': '' }, backlogText(e, now)),
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
          .sort(
            (a, b) => Number(deviceOffline(data.edges, b, now)) - Number(deviceOffline(data.edges, a, now)),
          )
          .map((d) => {
            const off = deviceOffline(data.edges, d, now);
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
