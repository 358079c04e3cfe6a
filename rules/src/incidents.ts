import type { Alert } from './alerts.js';
import { RulesError } from './errors.js';

/**
 * Incidents: critical alerts open them, related alerts join them, an officer must acknowledge
 * within the response deadline (3 minutes by default) or the incident escalates one level
 * (village → town → county). The engine only emits notification intents; a runtime sends them.
 * Deadlines run from when the cloud received the alert (`now`), never from the data time, so
 * a backlog delivered after an outage still gets its full response window.
 */
export interface IncidentOptions {
  /** Time to acknowledge before escalating, ms. Default 180 000 (3 minutes). */
  ackTimeoutMs?: number;
  /** Time at each further level before the next escalation, ms. Default: ackTimeoutMs. */
  escalationStepMs?: number;
  /** Notification levels, lowest first. Default ['village', 'town', 'county']. */
  levels?: string[];
  /** An alert about the same village or person within this long of the incident's last alert joins it, ms. Default 600 000. */
  correlationWindowMs?: number;
  /** An alert received this long after its data time is marked late, ms. Default 60 000. */
  lateAfterMs?: number;
  /** Prefix of incident ids (ids are prefix + sequence number). Default 'inc-'. */
  idPrefix?: string;
}

export interface ResolvedIncidentOptions {
  ackTimeoutMs: number;
  escalationStepMs: number;
  levels: string[];
  correlationWindowMs: number;
  lateAfterMs: number;
  idPrefix: string;
}

export function resolveIncidentOptions(o: IncidentOptions = {}): ResolvedIncidentOptions {
  const ackTimeoutMs = o.ackTimeoutMs ?? 180_000;
  const r: ResolvedIncidentOptions = {
    ackTimeoutMs,
    escalationStepMs: o.escalationStepMs ?? ackTimeoutMs,
    levels: o.levels ?? ['village', 'town', 'county'],
    correlationWindowMs: o.correlationWindowMs ?? 600_000,
    lateAfterMs: o.lateAfterMs ?? 60_000,
    idPrefix: o.idPrefix ?? 'inc-',
  };
  for (const k of ['ackTimeoutMs', 'escalationStepMs', 'correlationWindowMs', 'lateAfterMs'] as const) {
    if (!Number.isFinite(r[k]) || r[k] < 0)
      throw new RulesError('bad_config', `incidents.${k}`, 'must be >= 0 ms', r[k]);
  }
  if (r.ackTimeoutMs <= 0 || r.escalationStepMs <= 0) {
    throw new RulesError('bad_config', 'incidents.ackTimeoutMs', 'must be > 0 ms', r.ackTimeoutMs);
  }
  if (
    !Array.isArray(r.levels) ||
    r.levels.length === 0 ||
    r.levels.some((l) => typeof l !== 'string' || !l)
  ) {
    throw new RulesError('bad_config', 'incidents.levels', 'must be a non-empty list of names', r.levels);
  }
  return r;
}

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

export interface AuditEntry {
  /** ms epoch of the transition. */
  at: number;
  /** Officer id, or 'system' for the engine's own transitions. */
  actor: string;
  action: 'opened' | 'joined' | 'escalated' | 'acknowledged' | 'resolved';
  detail?: string;
}

export interface Incident {
  id: string;
  village: string;
  status: IncidentStatus;
  severity: 'critical';
  /** Alert keys that opened or joined it, first one first. */
  alerts: string[];
  people: string[];
  devices: string[];
  /** When the cloud received the opening alert; the response time counts from here. */
  openedAt: number;
  /** Data time of the opening alert. */
  eventAt: number;
  /** True when the opening alert arrived more than lateAfterMs after its data time. */
  late: boolean;
  delayMs: number;
  /** When the cloud received the latest alert that joined. */
  lastAlertAt: number;
  /** Index into the levels list of the highest level notified so far. */
  level: number;
  levelName: string;
  /** Next escalation time, ms epoch; null once acknowledged or at the top level. */
  deadline: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  /** acknowledgedAt - openedAt. */
  firstResponseMs: number | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  note: string | null;
  audit: AuditEntry[];
}

export interface IncidentState {
  seq: number;
  /** Unresolved incidents by id. A resolved incident leaves the state in its 'incident-resolved' output. */
  open: Record<string, Incident>;
}

export interface NotificationIntent {
  type: 'notify';
  incidentId: string;
  village: string;
  /** Level name to notify (e.g. 'town'): the runtime maps it to people through the registry. */
  level: string;
  reason: 'opened' | 'joined' | 'escalated' | 'acknowledged' | 'resolved';
}

export type IncidentOutput =
  | { type: 'incident-opened'; incident: Incident }
  | { type: 'incident-joined'; incidentId: string; alertKey: string; at: number }
  | { type: 'incident-escalated'; incidentId: string; level: string; dueAt: number; at: number }
  | { type: 'incident-acknowledged'; incidentId: string; actor: string; at: number; firstResponseMs: number }
  | { type: 'incident-resolved'; incident: Incident }
  | NotificationIntent;

export function createIncidentState(): IncidentState {
  return { seq: 0, open: {} };
}

function snapshot(i: Incident): Incident {
  return structuredClone(i);
}

function notifyUpTo(
  i: Incident,
  opts: ResolvedIncidentOptions,
  reason: NotificationIntent['reason'],
): NotificationIntent[] {
  const out: NotificationIntent[] = [];
  for (let l = 0; l <= i.level; l++) {
    out.push({ type: 'notify', incidentId: i.id, village: i.village, level: opts.levels[l], reason });
  }
  return out;
}

/** Opens an incident for a critical alert, or joins it to a related open one. Mutates `state`. */
export function routeCriticalAlert(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  alert: Alert,
  now: number,
): IncidentOutput[] {
  const { village, person, device } = alert.subject;
  for (const i of Object.values(state.open)) {
    const related = i.village === village || (person !== undefined && i.people.includes(person));
    if (!related || now - i.lastAlertAt > opts.correlationWindowMs) continue;
    if (!i.alerts.includes(alert.key)) i.alerts.push(alert.key);
    if (person && !i.people.includes(person)) i.people.push(person);
    if (device && !i.devices.includes(device)) i.devices.push(device);
    i.lastAlertAt = now;
    i.audit.push({ at: now, actor: 'system', action: 'joined', detail: alert.key });
    return [
      { type: 'incident-joined', incidentId: i.id, alertKey: alert.key, at: now },
      ...notifyUpTo(i, opts, 'joined'),
    ];
  }
  state.seq++;
  const delayMs = Math.max(0, now - alert.lastAt);
  const late = delayMs > opts.lateAfterMs;
  const incident: Incident = {
    id: `${opts.idPrefix}${state.seq}`,
    village,
    status: 'open',
    severity: 'critical',
    alerts: [alert.key],
    people: person ? [person] : [],
    devices: device ? [device] : [],
    openedAt: now,
    eventAt: alert.lastAt,
    late,
    delayMs,
    lastAlertAt: now,
    level: 0,
    levelName: opts.levels[0],
    deadline: now + opts.ackTimeoutMs,
    acknowledgedAt: null,
    acknowledgedBy: null,
    firstResponseMs: null,
    resolvedAt: null,
    resolvedBy: null,
    note: null,
    audit: [
      {
        at: now,
        actor: 'system',
        action: 'opened',
        detail: late ? `${alert.key} (late by ${delayMs} ms)` : alert.key,
      },
    ],
  };
  state.open[incident.id] = incident;
  return [{ type: 'incident-opened', incident: snapshot(incident) }, ...notifyUpTo(incident, opts, 'opened')];
}

/** Escalates every unacknowledged incident whose deadline is at or before `now`. */
export function tickIncidents(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  now: number,
): IncidentOutput[] {
  const out: IncidentOutput[] = [];
  for (const i of Object.values(state.open)) {
    // A runtime that was down may tick long after several deadlines: each missed level is notified.
    while (i.status === 'open' && i.deadline !== null && i.deadline <= now) {
      const dueAt = i.deadline;
      i.level++;
      i.levelName = opts.levels[i.level];
      i.deadline = i.level < opts.levels.length - 1 ? dueAt + opts.escalationStepMs : null;
      i.audit.push({
        at: now,
        actor: 'system',
        action: 'escalated',
        detail: `to ${i.levelName}, due at ${dueAt}`,
      });
      out.push({ type: 'incident-escalated', incidentId: i.id, level: i.levelName, dueAt, at: now });
      out.push({
        type: 'notify',
        incidentId: i.id,
        village: i.village,
        level: i.levelName,
        reason: 'escalated',
      });
    }
  }
  return out;
}

export function nextIncidentDeadline(state: IncidentState): number | null {
  let next: number | null = null;
  for (const i of Object.values(state.open)) {
    if (i.status === 'open' && i.deadline !== null && (next === null || i.deadline < next)) next = i.deadline;
  }
  return next;
}

function find(state: IncidentState, id: string): Incident {
  const i = state.open[id];
  if (!i) throw new RulesError('unknown_incident', id, 'no unresolved incident with this id');
  return i;
}

function checkActor(actor: string): void {
  if (typeof actor !== 'string' || actor.trim() === '') {
    throw new RulesError('bad_value', 'actor', 'must name who acts', actor);
  }
}

export function acknowledgeIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  id: string,
  actor: string,
  now: number,
): IncidentOutput[] {
  checkActor(actor);
  const i = find(state, id);
  if (i.status !== 'open')
    throw new RulesError('bad_transition', id, `cannot acknowledge an incident that is ${i.status}`);
  i.status = 'acknowledged';
  i.acknowledgedAt = now;
  i.acknowledgedBy = actor;
  i.firstResponseMs = Math.max(0, now - i.openedAt);
  i.deadline = null;
  i.audit.push({ at: now, actor, action: 'acknowledged' });
  return [
    { type: 'incident-acknowledged', incidentId: id, actor, at: now, firstResponseMs: i.firstResponseMs },
    ...notifyUpTo(i, opts, 'acknowledged'),
  ];
}

/** Resolves an acknowledged incident with a note; the incident leaves the state in the output. */
export function resolveIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  id: string,
  actor: string,
  note: string,
  now: number,
): IncidentOutput[] {
  checkActor(actor);
  const i = find(state, id);
  if (i.status !== 'acknowledged') {
    throw new RulesError(
      'bad_transition',
      id,
      `cannot resolve an incident that is ${i.status}; acknowledge it first`,
    );
  }
  if (typeof note !== 'string' || note.trim() === '') {
    throw new RulesError('missing_note', id, 'resolving needs a note saying what was done', note);
  }
  i.status = 'resolved';
  i.resolvedAt = now;
  i.resolvedBy = actor;
  i.note = note;
  i.audit.push({ at: now, actor, action: 'resolved', detail: note });
  delete state.open[id];
  return [{ type: 'incident-resolved', incident: i }, ...notifyUpTo(i, opts, 'resolved')];
}
