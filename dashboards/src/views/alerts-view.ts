import { type Alert, alertsResponseSchema } from '@village/protocol/api';
import { loadNames, textOf } from '../alert-texts.js';
import { api } from '../api-client.js';
import { type AppData, stationName, villageName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, formatTime, t } from '../i18n.js';

/** Alerts with filters on state, severity and village (GET /alerts). */
export function renderAlerts(root: HTMLElement, data: AppData): () => void {
  const filters = { state: 'active', severity: '', village: '' };
  const list = el('div', { class: 'table-wrap' });
  const choice = (name: keyof typeof filters, options: [string, string][]) =>
    el(
      'select',
      {
        name,
        'aria-label': name,
        onchange: (e: Event) => {
          filters[name] = (e.target as HTMLSelectElement).value;
          void load();
        },
      },
      ...options.map(([v, label]) => el('option', { value: v, selected: v === filters[name] }, label)),
    );
  const villages = [...new Map(data.places.map((p) => [p.village, p.villageName])).entries()];
  root.replaceChildren(
    el(
      'div',
      { class: 'filters' },
      choice('state', [
        ['active', t('active')],
        ['cleared', t('cleared')],
        ['', t('all')],
      ]),
      choice('severity', [
        ['', t('all')],
        ['critical', t('critical')],
        ['warning', t('warning')],
        ['info', t('info')],
      ]),
      choice('village', [['', t('all')], ...villages]),
    ),
    list,
  );
  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: '200' });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    const [{ alerts }, people] = await Promise.all([
      api(`/alerts?${q}`, alertsResponseSchema).catch(() => ({ alerts: [] as Alert[] })),
      loadNames(),
    ]);
    list.replaceChildren(
      alerts.length === 0
        ? el('p', { class: 'empty' }, t('noData'))
        : el(
            'table',
            {},
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ...(
                  ['severity', 'message', 'village', 'station', 'count', 'raisedAt', 'state'] as MessageKey[]
                ).map((k) => el('th', {}, t(k))),
              ),
            ),
            el(
              'tbody',
              {},
              ...alerts.map((a) =>
                el(
                  'tr',
                  { class: `sev-${a.severity}`, 'data-alert': a.id },
                  el(
                    'td',
                    {},
                    el(
                      'span',
                      { class: `badge sev-${a.severity}` },
                      t(a.severity as MessageKey) ?? a.severity,
                    ),
                  ),
                  el('td', { 'data-testid': 'alert-text' }, textOf(a.text, a.message, people)),
                  el('td', {}, villageName(data, a.village)),
                  el('td', {}, stationName(data, a.station)),
                  el('td', {}, a.count),
                  el('td', {}, formatTime(a.raisedAt)),
                  el('td', {}, t(a.state)),
                ),
              ),
            ),
          ),
    );
  }
  void load();
  const timer = setInterval(load, 15_000);
  return () => clearInterval(timer);
}
