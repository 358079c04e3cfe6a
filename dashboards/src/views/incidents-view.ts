import { api } from '../api-client.js';
import type { Incident } from '../api-types.js';
import { type AppData, stationName, villageName } from '../app-data.js';
import { el } from '../dom-element.js';
import { type MessageKey, formatTime, t } from '../i18n.js';
import { onLive } from '../live-stream.js';

const LEVEL_KEY: Record<Incident['level'], MessageKey> = {
  village: 'levelVillage',
  town: 'levelTown',
  county: 'levelCounty',
};

/** mm:ss until the deadline, or the overdue time. */
function countdown(deadline: number, now: number): string {
  const s = Math.round(Math.abs(deadline - now) / 1000);
  const text = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return deadline >= now ? text : `${t('overdue')} ${text}`;
}

/**
 * The incident board: open incidents with their 3-minute countdown and escalation level,
 * acknowledge and resolve buttons, then acknowledged and recently resolved ones. Incident changes
 * arrive over the stream; the countdowns tick every second.
 */
export function renderIncidents(root: HTMLElement, data: AppData): () => void {
  let incidents: Incident[] = [];
  const board = el('div', { class: 'board' });
  const message = el('p', { class: 'message', role: 'status' });
  root.replaceChildren(message, board);

  const card = (i: Incident) => {
    const now = Date.now();
    const note = el('input', { type: 'text', placeholder: t('note'), 'aria-label': t('note'), name: 'note' });
    return el(
      'article',
      { class: `incident ${i.state} sev-${i.severity}`, 'data-incident': i.id, 'data-level': i.level },
      el('header', {}, el('strong', {}, i.title), i.late ? el('span', { class: 'badge' }, t('late')) : null),
      el('div', {}, `${villageName(data, i.village)} · ${stationName(data, i.station)}`),
      el('div', {}, `${formatTime(i.openedAt)}`),
      el(
        'div',
        { class: 'level' },
        `${t('level')}: `,
        el('strong', { 'data-testid': 'level' }, t(LEVEL_KEY[i.level] ?? 'levelVillage')),
        i.escalations.length ? ` (${t('escalated')} ×${i.escalations.length})` : '',
      ),
      i.state === 'open'
        ? el(
            'div',
            {
              class: i.deadline - now < 30_000 ? 'countdown urgent' : 'countdown',
              'data-deadline': i.deadline,
            },
            `${t('deadline')}: `,
            el('span', { class: 'clock' }, countdown(i.deadline, now)),
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
      i.state === 'acknowledged'
        ? el(
            'form',
            {
              class: 'resolve',
              onsubmit: (e: Event) => {
                e.preventDefault();
                void act(i, 'resolve', note.value);
              },
            },
            note,
            el('button', { type: 'submit', 'data-action': 'resolve' }, t('resolve')),
          )
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

  async function act(i: Incident, action: 'ack' | 'resolve', note?: string): Promise<void> {
    try {
      const { incident } = await api<{ incident: Incident }>(
        `/incidents/${encodeURIComponent(i.id)}/${action}`,
        {
          method: 'POST',
          body: note === undefined ? {} : { note },
        },
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
    const res = await api<{ incidents: Incident[] }>('/incidents?limit=200').catch(() => ({ incidents: [] }));
    incidents = res.incidents;
    render();
    document.body.dataset.rendered = 'incidents';
  }

  const tick = setInterval(() => {
    const now = Date.now();
    for (const c of board.querySelectorAll<HTMLElement>('[data-deadline]')) {
      const deadline = Number(c.dataset.deadline);
      c.querySelector('.clock')!.textContent = countdown(deadline, now);
      c.classList.toggle('urgent', deadline - now < 30_000);
    }
  }, 1000);
  const stopLive = onLive({ incident: (i) => upsert(i as unknown as Incident) });
  // The stream brings changes as they happen; a slow reload also catches what a reconnect missed.
  const reload = setInterval(load, 10_000);
  void load();
  return () => {
    clearInterval(tick);
    clearInterval(reload);
    stopLive();
  };
}
