import { type Alert, type Person, alertsResponseSchema, peopleResponseSchema } from '@village/protocol/api';
import { api } from '../api-client.js';
import { type AppData, formatValue, stationName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, ago, t } from '../i18n.js';

/**
 * People under care: status (active alerts naming them) and last vitals from their wristband.
 * Names come masked from the API unless the officer's role allows personal data.
 */
export function renderElder(root: HTMLElement, data: AppData): () => void {
  void Promise.all([
    api('/people', peopleResponseSchema),
    api('/alerts?state=active&limit=500', alertsResponseSchema).catch(() => ({ alerts: [] as Alert[] })),
  ]).then(([{ people }, { alerts }]) => {
    const vital = (p: Person, metric: string) => data.latest.get(`${p.wristband}|${metric}`);
    root.replaceChildren(
      people.some((p) => p.masked) ? el('p', { class: 'hint' }, t('masked')) : '',
      people.length === 0
        ? el('p', { class: 'empty' }, t('noData'))
        : el(
            'table',
            { class: 'elder' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ...(
                  ['person', 'station', 'status', 'heartRate', 'spo2', 'battery', 'lastSeen'] as MessageKey[]
                ).map((k) => el('th', {}, t(k))),
              ),
            ),
            el(
              'tbody',
              {},
              ...people.map((p) => {
                const mine = alerts.filter((a) => a.person === p.id);
                const hr = vital(p, 'heart_rate');
                return el(
                  'tr',
                  { 'data-person': p.id, class: mine.length ? 'alerting' : '' },
                  el(
                    'td',
                    { 'data-testid': 'person-name' },
                    p.name,
                    p.livesAlone ? el('small', {}, ` · ${t('livesAlone')}`) : '',
                  ),
                  el('td', {}, stationName(data, p.station)),
                  el('td', {}, mine.length ? mine.map((a) => a.message).join('; ') : t('normal')),
                  el('td', {}, formatValue(hr)),
                  el('td', {}, formatValue(vital(p, 'spo2'))),
                  el('td', {}, formatValue(vital(p, 'battery'))),
                  el('td', {}, ago(hr?.ts ?? null)),
                );
              }),
            ),
          ),
    );
  });
  return () => {};
}
