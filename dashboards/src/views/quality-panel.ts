import {
  QUALITY_REVIEW_ROLES,
  QUALITY_WINDOW_ROLES,
  type QualityAuditEntry,
  type QualityWindow,
  type User,
  qualityAuditResponseSchema,
  qualityChangeResponseSchema,
  qualityWindowResponseSchema,
  qualityWindowsResponseSchema,
} from '@village/protocol/api';
import { ApiFailure, api } from '../api-client.js';
import { el } from '../dom-element.js';
import { formatTime } from '../i18n.js';
import { type QualityTextKey, qt } from './quality-texts.js';

type Role = User['role'];
/** Controls only for roles the cloud's routes allow (anonymous: no users configured, full access). */
const may = (role: Role, roles: readonly string[]) => role === 'anonymous' || roles.includes(role);

/** A `datetime-local` input's value (the browser's local time) as ms since the epoch. */
const msOf = (form: HTMLFormElement, name: string): number =>
  new Date((form.elements.namedItem(name) as HTMLInputElement).value).getTime();
const inputValue = (form: HTMLFormElement, name: string): string =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;

const field = (label: QualityTextKey, input: HTMLElement) => el('label', {}, `${qt(label)} `, input);
const timeInput = (name: string) => el('input', { type: 'datetime-local', name, required: true });
const deviceSelect = (devices: readonly string[]) =>
  el(
    'select',
    { name: 'device' },
    el('option', { value: '' }, qt('wholeStation')),
    ...devices.map((d) => el('option', { value: d }, d)),
  );

/**
 * Data quality of one station (issue 16, docs/api.md "Data quality"): its maintenance and
 * calibration windows, with a form to set or end one for operators (admin, village); a form to
 * invalidate or restore a time range with a reason for reviewers (admin, town, county); and the
 * audit of every flag change. `onChanged` runs after a change, so the published AQI is reloaded.
 */
export function qualityPanel(
  station: string,
  devices: readonly string[],
  role: Role,
  onChanged: () => void,
): HTMLElement {
  const status = el('p', { class: 'status', 'data-testid': 'quality-status', role: 'status' });
  const windowsBox = el('div', { 'data-testid': 'quality-windows' });
  const auditBox = el('div', { 'data-testid': 'quality-audit' });
  const inStation = (w: { station?: string | null; device?: string | null }) =>
    w.station === station || (w.device != null && devices.includes(w.device));

  const report = (p: Promise<unknown>) =>
    p.then(
      () => {
        status.textContent = qt('done');
        status.classList.remove('error');
        onChanged();
        load();
      },
      (err: unknown) => {
        status.textContent = err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err);
        status.classList.add('error');
      },
    );
  const scopeOf = (form: HTMLFormElement) => {
    const device = inputValue(form, 'device');
    return device ? { device } : { station };
  };

  const windowRow = (w: QualityWindow) =>
    el(
      'tr',
      { 'data-window': w.id, 'data-kind': w.kind },
      el('td', {}, qt(w.kind)),
      el('td', {}, w.device ?? w.station ?? ''),
      el('td', {}, `${formatTime(w.from)} – ${formatTime(w.to)}`),
      el('td', {}, w.metrics?.join(', ') ?? qt('allMetrics')),
      el('td', {}, w.reason ?? ''),
      el('td', {}, w.actor),
      may(role, QUALITY_WINDOW_ROLES)
        ? el(
            'td',
            {},
            el(
              'button',
              {
                type: 'button',
                onclick: () =>
                  void report(
                    api(`/quality/windows/${encodeURIComponent(w.id)}`, qualityWindowResponseSchema, {
                      method: 'DELETE',
                    }),
                  ),
              },
              qt('removeWindow'),
            ),
          )
        : null,
    );
  const auditRow = (a: QualityAuditEntry) =>
    el(
      'tr',
      { 'data-action': a.action, 'data-from': a.from ?? '', 'data-readings': a.readings },
      el('td', {}, formatTime(a.at)),
      el('td', {}, a.actor),
      el('td', {}, qt(`action_${a.action}`)),
      el('td', {}, a.device ?? a.station ?? ''),
      el('td', {}, a.metric ?? qt('allMetrics')),
      el('td', {}, a.from === null || a.to === null ? '' : `${formatTime(a.from)} – ${formatTime(a.to)}`),
      el('td', { title: qt('readings') }, a.readings),
      el('td', {}, a.reason),
    );

  function load(): void {
    const q = encodeURIComponent(station);
    void Promise.all([
      api('/quality/windows', qualityWindowsResponseSchema).catch(() => ({ windows: [] })),
      api(`/quality/audit?station=${q}&limit=50`, qualityAuditResponseSchema).catch(() => ({ audit: [] })),
    ]).then(([w, a]) => {
      const windows = w.windows.filter(inStation);
      windowsBox.replaceChildren(
        windows.length
          ? el('table', {}, el('tbody', {}, ...windows.map(windowRow)))
          : el('p', { class: 'empty' }, qt('noWindows')),
      );
      auditBox.replaceChildren(
        a.audit.length
          ? el(
              'table',
              {},
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  ...(
                    ['time', 'actor', 'action', 'target', 'metric', 'range', 'readings', 'reason'] as const
                  ).map((k) => el('th', {}, qt(k))),
                ),
              ),
              el('tbody', {}, ...a.audit.map(auditRow)),
            )
          : el('p', { class: 'empty' }, qt('noAudit')),
      );
      root.dataset.loaded = String(Number(root.dataset.loaded ?? 0) + 1);
    });
  }

  const windowForm = may(role, QUALITY_WINDOW_ROLES)
    ? el(
        'form',
        {
          class: 'quality-window',
          'data-testid': 'window-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const f = e.target as HTMLFormElement;
            const reason = inputValue(f, 'reason');
            const metric = inputValue(f, 'metric');
            void report(
              api('/quality/windows', qualityWindowResponseSchema, {
                method: 'POST',
                body: {
                  kind: inputValue(f, 'kind'),
                  from: msOf(f, 'from'),
                  to: msOf(f, 'to'),
                  ...scopeOf(f),
                  ...(metric ? { metrics: [metric] } : {}),
                  ...(reason ? { reason } : {}),
                },
              }),
            );
          },
        },
        field(
          'kind',
          el(
            'select',
            { name: 'kind' },
            el('option', { value: 'maintenance' }, qt('maintenance')),
            el('option', { value: 'calibration' }, qt('calibration')),
          ),
        ),
        field('target', deviceSelect(devices)),
        field('metric', el('input', { name: 'metric', placeholder: qt('allMetrics') })),
        field('from', timeInput('from')),
        field('to', timeInput('to')),
        field('reason', el('input', { name: 'reason' })),
        el('button', { type: 'submit' }, qt('setWindow')),
      )
    : null;

  const reviewForm = may(role, QUALITY_REVIEW_ROLES)
    ? el(
        'form',
        {
          class: 'quality-review',
          'data-testid': 'review-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const f = e.target as HTMLFormElement;
            const action =
              (e as SubmitEvent).submitter?.getAttribute('value') === 'restore' ? 'restore' : 'invalidate';
            const metric = inputValue(f, 'metric');
            void report(
              api(`/quality/${action}`, qualityChangeResponseSchema, {
                method: 'POST',
                body: {
                  from: msOf(f, 'from'),
                  to: msOf(f, 'to'),
                  ...scopeOf(f),
                  ...(metric ? { metric } : {}),
                  reason: inputValue(f, 'reason'),
                },
              }),
            );
          },
        },
        field('target', deviceSelect(devices)),
        field('metric', el('input', { name: 'metric', placeholder: qt('allMetrics') })),
        field('from', timeInput('from')),
        field('to', timeInput('to')),
        field('reason', el('input', { name: 'reason', required: true })),
        el('button', { type: 'submit', name: 'action', value: 'invalidate' }, qt('invalidate')),
        el('button', { type: 'submit', name: 'action', value: 'restore' }, qt('restore')),
      )
    : null;

  const root = el(
    'section',
    { class: 'quality', 'data-testid': 'quality-panel' },
    el('h3', {}, qt('windows')),
    windowsBox,
    windowForm,
    reviewForm ? el('h3', {}, qt('review')) : null,
    reviewForm,
    status,
    el('h3', {}, qt('audit')),
    auditBox,
  );
  load();
  return root;
}
