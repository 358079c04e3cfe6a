import {
  type Incident,
  type IncidentOutcome,
  incidentResponseBodySchema,
  incidentsResponseSchema,
} from '@village/protocol/api';
import { loadNames, textOf } from '../alert-texts.js';
import { api } from '../api-client.js';
import { type AppData, stationName, villageName } from '../app-data.js';
import { countdown } from '../countdown.js';
import { el } from '../dom-element.js';
import { type MessageKey, formatTime, t } from '../i18n.js';
import { onLive } from '../live-stream.js';

/** The ladder's level names the board knows; another configured name shows as the village level. */
const LEVEL_KEY: Partial<Record<string, MessageKey>> = {
  village: 'levelVillage',
  town: 'levelTown',
  county: 'levelCounty',
};

const OUTCOMES: [IncidentOutcome, MessageKey][] = [
  ['handled_on_site', 'outcomeHandledOnSite'],
  ['sent_to_hospital', 'outcomeSentToHospital'],
  ['false_alarm', 'outcomeFalseAlarm'],
  ['other', 'outcomeOther'],
];

/** The countdown as shown: the clock, after "since the deadline" once it has passed (countdown.ts). */
function countdownText(deadline: number, now: number): string {
  const c = countdown(deadline, now);
  return c.overdue ? `${t('sinceDeadline')} ${c.clock}` : c.clock;
}

/**
 * The incident board: open incidents with their 3-minute countdown and escalation level,
 * acknowledge and resolve buttons, then acknowledged and recently resolved ones. Incident changes
 * arrive over the stream; the countdowns tick every second.
 */
export function renderIncidents(root: HTMLElement, data: AppData): () => void {
  let incidents: Incident[] = [];
  let people = new Map<string, string>();
  const board = el('div', { class: 'board' });
  const message = el('p', { class: 'message', role: 'status' });
  root.replaceChildren(message, board);

  const card = (i: Incident) => {
    const now = Date.now();
    const note = el('input', { type: 'text', placeholder: t('note'), 'aria-label': t('note'), name: 'note' });
    const outcome = el(
      'select',
      { name: 'outcome', 'aria-label': t('outcome'), required: true },
      el('option', { value: '' }, `${t('outcome')}…`),
      ...OUTCOMES.map(([v, k]) => el('option', { value: v }, t(k))),
    ) as HTMLSelectElement;
    return el(
      'article',
      { class: `incident ${i.state} sev-${i.severity}`, 'data-incident': i.id, 'data-level': i.level },
      el(
        'header',
        {},
        el('strong', { 'data-testid': 'incident-text' }, textOf(i.text, i.title, people)),
        i.late ? el('span', { class: 'badge' }, t('late')) : null,
        (i.priority ?? 1) > 1
          ? el('span', { class: 'badge', 'data-testid': 'priority' }, `${t('priority')} ${i.priority}`)
          : null,
      ),
      el('div', {}, `${villageName(data, i.village)} · ${stationName(data, i.station)}`),
      // Linked, never merged: each incident of a situation keeps its own card and deadline.
      i.situation && i.situation !== i.id
        ? el('div', { class: 'situation', 'data-situation': i.situation }, `${t('situation')} ${i.situation}`)
        : null,
      el('div', {}, `${formatTime(i.openedAt)}`),
      el(
        'div',
        { class: 'level' },
        `${t('level')}: `,
        el('strong', { 'data-testid': 'level' }, t(LEVEL_KEY[i.level] ?? 'levelVillage')),
        i.escalations.length ? ` (${t('escalated')} ×${i.escalations.length})` : '',
      ),
      i.state === 'open' && i.deadline !== null
        ? el(
            'div',
            {
              class: countdown(i.deadline, now).urgent ? 'countdown urgent' : 'countdown',
              'data-deadline': i.deadline,
            },
            `${t('deadline')}: `,
            el('span', { class: 'clock' }, countdownText(i.deadline, now)),
          )
        : null,
      i.acknowledgedBy ? el('div', { 'data-testid': 'ack-by' }, `${t('by')}: ${i.acknowledgedBy}`) : null,
      i.state === 'open'
        ? el(
            'button',
            { type: 'button', class: 'primary', 'data-action': 'ack', onclick: () => act(i, 'ack') },
            t('acknowledge'),
          )
        : null,
      i.state === 'acknowledged' && !i.arrivedAt
        ? el(
            'button',
            { type: 'button', 'data-action': 'arrive', onclick: () => act(i, 'arrive') },
            t('arrive'),
          )
        : null,
      i.arrivedAt
        ? el('div', { 'data-testid': 'arrived' }, `${t('arrive')}: ${formatTime(i.arrivedAt)}`)
        : null,
      i.state === 'acknowledged'
        ? el(
            'form',
            {
              class: 'resolve',
              onsubmit: (e: Event) => {
                e.preventDefault();
                void act(i, 'resolve', { note: note.value, outcome: outcome.value });
              },
            },
            outcome,
            note,
            el('button', { type: 'submit', 'data-action': 'resolve' }, t('resolve')),
          )
        : null,
      i.outcome
        ? el('div', { class: 'outcome' }, t(OUTCOMES.find(([v]) => v === i.outcome)?.[1] ?? 'outcomeOther'))
        : null,
      i.note ? el('div', { class: 'note' }, i.note) : null,
    );
  };

  const column = (state: Incident['state']) =>
    el(
      'section',
      { class: 'column', 'data-column': state },
      el('h2', {}, t(state)),
      ...incidents.filter((i) => i.state === state).map(card),
    );

  const render = () => board.replaceChildren(column('open'), column('acknowledged'), column('resolved'));

  async function act(
    i: Incident,
    action: 'ack' | 'arrive' | 'resolve',
    body: { note?: string; outcome?: string } = {},
  ): Promise<void> {
    try {
      const { incident } = await api(
        `/incidents/${encodeURIComponent(i.id)}/${action}`,
        incidentResponseBodySchema,
        { method: 'POST', body },
      );
      upsert(incident);
      message.textContent = '';
    } catch (err) {
      message.textContent = (err as Error).message;
    }
  }

  function upsert(incident: Incident): void {
    incidents = [incident, ...incidents.filter((x) => x.id !== incident.id)].sort(
      (a, b) => b.openedAt - a.openedAt,
    );
    render();
  }

  async function load(): Promise<void> {
    const [res, names] = await Promise.all([
      api('/incidents?limit=200', incidentsResponseSchema).catch(() => ({ incidents: [] })),
      loadNames(),
    ]);
    people = names;
    incidents = res.incidents;
    render();
    document.body.dataset.rendered = 'incidents';
  }

  const tick = setInterval(() => {
    const now = Date.now();
    for (const c of board.querySelectorAll<HTMLElement>('[data-deadline]')) {
      const deadline = Number(c.dataset.deadline);
      c.querySelector('.clock')!.textContent = countdownText(deadline, now);
      c.classList.toggle('urgent', countdown(deadline, now).urgent);
    }
  }, 1000);
  const stopLive = onLive({ incident: upsert });
  // The stream brings changes as they happen; a slow reload also catches what a reconnect missed.
  const reload = setInterval(load, 10_000);
  void load();
  return () => {
    clearInterval(tick);
    clearInterval(reload);
    stopLive();
  };
}
