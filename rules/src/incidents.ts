import type { Alert } from './alerts.js';
import { RulesError } from './errors.js';

/**
 * Incidents: critical alerts open them, an officer must acknowledge within the response deadline
 * (3 minutes by default) or the incident escalates one level (village → town → county), and at
 * the top level the notification repeats every `topRepeatMs` until someone acknowledges. The
 * engine only emits notification intents; a runtime sends them.
 *
 * An incident has one subject (incidentSubject): one person for elder alerts, one device and
 * kind for intrusion or smoke, one station and pollutant for environmental alerts. Only alerts
 * about the same subject join it, and only while close to it in event (data) time and within the
 * incident's maximum duration, so a compressed or delayed delivery never merges what happened
 * hours apart. Incidents of the same station close in event time are linked as one situation
 * (`situation`), each still its own incident with its own deadline.
 *
 * Life safety first: a fall, an SOS or a critical silence of a person's band that joins or
 * repeats re-arms the deadline (an acknowledged incident becomes open again), notifies every level
 * reached again and raises the priority.
 *
 * Deadlines run from when the cloud received the alert (`now`), never from the data time, so a
 * backlog delivered after an outage still gets its full response window.
 */
export interface IncidentOptions {
  /** Time to acknowledge before escalating, ms (the response deadline). Default 180 000 (3 minutes). */
  ackDeadlineMs?: number;
  /** Time at each further level before the next escalation, ms. Default: ackDeadlineMs. */
  escalationStepMs?: number;
  /** At the top level, the notification repeats this often until acknowledged, ms. Default: escalationStepMs. */
  topRepeatMs?: number;
  /** Notification levels, lowest first. Default ['village', 'town', 'county']. */
  levels?: string[];
  /** An alert about the same subject within this long (event time) of the incident's last alert joins it, ms. Default 600 000. */
  correlationWindowMs?: number;
  /** No alert joins an incident more than this long (event time) after it began, ms. Default 14 400 000 (4 h). */
  maxDurationMs?: number;
  /** Incidents of the same station this close in event time are linked as one situation, ms. Default 1 800 000. */
  situationWindowMs?: number;
  /** A life-safety trigger re-arms the incident only this long (event time) after the last one that did, ms. Default 60 000. */
  rearmAfterMs?: number;
  /** Alert rules that re-arm: default ['elder.fall', 'elder.sos', 'elder.silent_alone'] (critical alerts only). */
  lifeSafetyRules?: string[];
  /** An alert received this long after its data time is marked late, ms. Default 60 000. */
  lateAfterMs?: number;
  /**
   * Optional "arrived on scene" step: after an acknowledgement, someone must report arriving
   * within this long, or the level above is told once, ms. Default: no arrival timer.
   */
  arrivalTimeoutMs?: number | null;
  /** Prefix of incident ids (ids are prefix + sequence number). Default 'inc-'. */
  idPrefix?: string;
}

export interface ResolvedIncidentOptions {
  ackDeadlineMs: number;
  escalationStepMs: number;
  topRepeatMs: number;
  levels: string[];
  correlationWindowMs: number;
  maxDurationMs: number;
  situationWindowMs: number;
  rearmAfterMs: number;
  lifeSafetyRules: string[];
  lateAfterMs: number;
  arrivalTimeoutMs: number | null;
  idPrefix: string;
}

/**
 * The defaults of IncidentOptions, one copy: resolveIncidentOptions applies them and
 * incidentOptionsSchema (options-schema.ts) fills them into a config file's section.
 * escalationStepMs defaults to ackDeadlineMs and topRepeatMs to escalationStepMs.
 */
export const INCIDENT_DEFAULTS = {
  ackDeadlineMs: 180_000,
  levels: ['village', 'town', 'county'],
  correlationWindowMs: 600_000,
  maxDurationMs: 4 * 3_600_000,
  situationWindowMs: 1_800_000,
  rearmAfterMs: 60_000,
  lifeSafetyRules: ['elder.fall', 'elder.sos', 'elder.silent_alone'],
  lateAfterMs: 60_000,
  idPrefix: 'inc-',
} as const;

export function resolveIncidentOptions(o: IncidentOptions = {}): ResolvedIncidentOptions {
  const d = INCIDENT_DEFAULTS;
  const ackDeadlineMs = o.ackDeadlineMs ?? d.ackDeadlineMs;
  const escalationStepMs = o.escalationStepMs ?? ackDeadlineMs;
  const r: ResolvedIncidentOptions = {
    ackDeadlineMs,
    escalationStepMs,
    topRepeatMs: o.topRepeatMs ?? escalationStepMs,
    levels: o.levels ?? [...d.levels],
    correlationWindowMs: o.correlationWindowMs ?? d.correlationWindowMs,
    maxDurationMs: o.maxDurationMs ?? d.maxDurationMs,
    situationWindowMs: o.situationWindowMs ?? d.situationWindowMs,
    rearmAfterMs: o.rearmAfterMs ?? d.rearmAfterMs,
    lifeSafetyRules: o.lifeSafetyRules ?? [...d.lifeSafetyRules],
    lateAfterMs: o.lateAfterMs ?? d.lateAfterMs,
    arrivalTimeoutMs: o.arrivalTimeoutMs ?? null,
    idPrefix: o.idPrefix ?? d.idPrefix,
  };
  if (r.arrivalTimeoutMs !== null && !(Number.isFinite(r.arrivalTimeoutMs) && r.arrivalTimeoutMs > 0)) {
    throw new RulesError('bad_config', 'incidents.arrivalTimeoutMs', 'must be > 0 ms', r.arrivalTimeoutMs);
  }
  for (const k of [
    'ackDeadlineMs',
    'escalationStepMs',
    'topRepeatMs',
    'correlationWindowMs',
    'maxDurationMs',
    'situationWindowMs',
    'rearmAfterMs',
    'lateAfterMs',
  ] as const) {
    if (!Number.isFinite(r[k]) || r[k] < 0)
      throw new RulesError('bad_config', `incidents.${k}`, 'must be >= 0 ms', r[k]);
  }
  for (const k of ['ackDeadlineMs', 'escalationStepMs', 'topRepeatMs'] as const) {
    if (r[k] <= 0) throw new RulesError('bad_config', `incidents.${k}`, 'must be > 0 ms', r[k]);
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

/** How an incident was closed: 误报, 已到场处置, 送医, 其他. */
export type IncidentOutcome = 'false_alarm' | 'handled_on_site' | 'sent_to_hospital' | 'other';
export const INCIDENT_OUTCOMES: readonly IncidentOutcome[] = [
  'false_alarm',
  'handled_on_site',
  'sent_to_hospital',
  'other',
];

export interface AuditEntry {
  /** ms epoch of the transition. */
  at: number;
  /** Officer id, or 'system' for the engine's own transitions. */
  actor: string;
  action:
    | 'opened'
    | 'joined'
    | 'rearmed'
    | 'escalated'
    | 'acknowledged'
    | 'arrived'
    | 'arrival_overdue'
    | 'resolved';
  detail?: string;
}

/** One alert (or life-safety repeat) that asked for a response, and when it got one. */
export interface IncidentResponse {
  alert: string;
  /** Receipt time of the alert or repeat. */
  at: number;
  /** When an officer acknowledged after it, or when it joined an incident already being handled. */
  respondedAt: number | null;
  responseMs: number | null;
}

export interface Incident {
  id: string;
  village: string;
  station: string | null;
  /** What the incident is about (incidentSubject), e.g. 'person:p-0001'. */
  subject: string;
  /** Rule of the alert that opened it, e.g. 'elder.fall' or 'event.intrusion'. */
  kind: string;
  /** Id of the first incident of the situation it belongs to (its own id when alone). */
  situation: string;
  status: IncidentStatus;
  severity: 'critical';
  /** 1 at opening; +1 for each life-safety re-arm. */
  priority: number;
  /** Alert keys that opened or joined it, first one first. */
  alerts: string[];
  people: string[];
  devices: string[];
  /** When the cloud received the opening alert; the response time counts from here. */
  openedAt: number;
  /** Data time of the opening alert. */
  eventAt: number;
  /** Data time of the latest alert that joined or repeated (correlation runs on this). */
  lastEventAt: number;
  /** Data time of the last life-safety trigger that re-armed (or opened) it. */
  lastRearmEventAt: number;
  /** True when the opening alert arrived more than lateAfterMs after its data time. */
  late: boolean;
  delayMs: number;
  /** When the cloud received the latest alert that joined. */
  lastAlertAt: number;
  /** Index into the levels list of the highest level notified so far. */
  level: number;
  levelName: string;
  /** Next escalation (or, at the top level, repeat) time, ms epoch; null once acknowledged. */
  deadline: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  /** First acknowledgedAt - openedAt. */
  firstResponseMs: number | null;
  responses: IncidentResponse[];
  /** When someone reported arriving on scene (the optional step), and who; arrivalMs = arrivedAt - acknowledgedAt. */
  arrivedAt: number | null;
  arrivedBy: string | null;
  arrivalMs: number | null;
  /** While acknowledged and not yet arrived, with arrivalTimeoutMs set: when the level above is told. */
  arrivalDeadline: number | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  outcome: IncidentOutcome | null;
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
  reason:
    | 'opened'
    | 'joined'
    | 'rearmed'
    | 'escalated'
    | 'acknowledged'
    | 'arrived'
    | 'arrival_overdue'
    | 'resolved';
}

export type IncidentOutput =
  | { type: 'incident-opened'; incident: Incident }
  | { type: 'incident-joined'; incidentId: string; alertKey: string; at: number }
  | { type: 'incident-rearmed'; incidentId: string; alertKey: string; priority: number; at: number }
  | { type: 'incident-escalated'; incidentId: string; level: string; dueAt: number; at: number }
  | { type: 'incident-acknowledged'; incidentId: string; actor: string; at: number; firstResponseMs: number }
  | { type: 'incident-arrived'; incidentId: string; actor: string; at: number; arrivalMs: number }
  | { type: 'incident-arrival-overdue'; incidentId: string; dueAt: number; at: number }
  | { type: 'incident-resolved'; incident: Incident }
  | NotificationIntent;

/** The one thing an incident is about; alerts of different subjects never share an incident. */
export function incidentSubject(a: Pick<Alert, 'rule' | 'subject' | 'metric'>): string {
  const s = a.subject;
  if (s.person) return `person:${s.person}`;
  if (a.metric !== undefined) return `station:${s.station ?? s.device ?? s.village}|${a.metric}`;
  return `device:${s.device ?? s.station ?? s.village}|${a.rule}`;
}

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

function isLifeSafety(opts: ResolvedIncidentOptions, alert: Alert): boolean {
  return alert.severity === 'critical' && opts.lifeSafetyRules.includes(alert.rule);
}

/** The unresolved incident this alert belongs to by subject and event time, if any. */
function matchingIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  alert: Alert,
): Incident | undefined {
  const subject = incidentSubject(alert);
  const t = alert.lastAt;
  for (const i of Object.values(state.open)) {
    if (i.subject !== subject || i.village !== alert.subject.village) continue;
    if (Math.abs(t - i.lastEventAt) > opts.correlationWindowMs) continue;
    if (t - i.eventAt > opts.maxDurationMs) continue;
    return i;
  }
  return undefined;
}

/** Re-arms the deadline of an incident after a life-safety trigger, even if acknowledged. */
function rearm(i: Incident, opts: ResolvedIncidentOptions, alert: Alert, now: number): IncidentOutput[] {
  // Acknowledged: a fresh window. Still open: never later than the deadline already running, so
  // a repeat cannot postpone the escalation it is part of.
  const fresh = now + opts.ackDeadlineMs;
  i.deadline = i.status === 'open' && i.deadline !== null ? Math.min(i.deadline, fresh) : fresh;
  i.status = 'open';
  i.priority++;
  i.lastRearmEventAt = alert.lastAt;
  i.responses.push({ alert: alert.key, at: now, respondedAt: null, responseMs: null });
  i.audit.push({
    at: now,
    actor: 'system',
    action: 'rearmed',
    detail: `${alert.key} (priority ${i.priority})`,
  });
  return [
    { type: 'incident-rearmed', incidentId: i.id, alertKey: alert.key, priority: i.priority, at: now },
    ...notifyUpTo(i, opts, 'rearmed'),
  ];
}

function situationOf(state: IncidentState, opts: ResolvedIncidentOptions, alert: Alert): string | null {
  const station = alert.subject.station;
  if (!station) return null;
  for (const i of Object.values(state.open)) {
    if (i.station === station && Math.abs(alert.lastAt - i.lastEventAt) <= opts.situationWindowMs)
      return i.situation;
  }
  return null;
}

function openIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  alert: Alert,
  now: number,
): IncidentOutput[] {
  const { village, person, device, station } = alert.subject;
  state.seq++;
  const id = `${opts.idPrefix}${state.seq}`;
  const delayMs = Math.max(0, now - alert.lastAt);
  const late = delayMs > opts.lateAfterMs;
  const incident: Incident = {
    id,
    village,
    station: station ?? null,
    subject: incidentSubject(alert),
    kind: alert.rule,
    situation: situationOf(state, opts, alert) ?? id,
    status: 'open',
    severity: 'critical',
    priority: 1,
    alerts: [alert.key],
    people: person ? [person] : [],
    devices: device ? [device] : [],
    openedAt: now,
    eventAt: alert.lastAt,
    lastEventAt: alert.lastAt,
    lastRearmEventAt: alert.lastAt,
    late,
    delayMs,
    lastAlertAt: now,
    level: 0,
    levelName: opts.levels[0],
    deadline: now + opts.ackDeadlineMs,
    acknowledgedAt: null,
    acknowledgedBy: null,
    firstResponseMs: null,
    responses: [{ alert: alert.key, at: now, respondedAt: null, responseMs: null }],
    arrivedAt: null,
    arrivedBy: null,
    arrivalMs: null,
    arrivalDeadline: null,
    resolvedAt: null,
    resolvedBy: null,
    outcome: null,
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

/**
 * Opens an incident for a newly raised critical alert, or joins it to the open incident of the
 * same subject close in event time. A life-safety alert that joins re-arms the incident.
 * Mutates `state`.
 */
export function routeCriticalAlert(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  alert: Alert,
  now: number,
): IncidentOutput[] {
  const i = matchingIncident(state, opts, alert);
  if (!i) return openIncident(state, opts, alert, now);
  if (!i.alerts.includes(alert.key)) i.alerts.push(alert.key);
  if (alert.subject.device && !i.devices.includes(alert.subject.device)) i.devices.push(alert.subject.device);
  i.lastAlertAt = now;
  i.lastEventAt = Math.max(i.lastEventAt, alert.lastAt);
  i.audit.push({ at: now, actor: 'system', action: 'joined', detail: alert.key });
  const out: IncidentOutput[] = [{ type: 'incident-joined', incidentId: i.id, alertKey: alert.key, at: now }];
  if (isLifeSafety(opts, alert)) return [...out, ...rearm(i, opts, alert, now)];
  // Already being handled: the join is answered by the acknowledgement that stands.
  const handled = i.status === 'acknowledged';
  i.responses.push({
    alert: alert.key,
    at: now,
    respondedAt: handled ? now : null,
    responseMs: handled ? 0 : null,
  });
  return [...out, ...notifyUpTo(i, opts, 'joined')];
}

/**
 * A repeat of an active critical alert (alert identity is rule + subject, so a repeat counts on
 * the alert it repeats). A life-safety repeat at least rearmAfterMs (event time) after the last
 * re-arm re-arms its incident; a repeat whose incident was resolved while the alert stayed
 * active, or whose incident is past its maximum duration, opens a new one.
 * Repeats of level conditions (one continuing episode) only count.
 */
export function routeCriticalRepeat(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  alert: Alert,
  now: number,
): IncidentOutput[] {
  const lifeSafety = isLifeSafety(opts, alert);
  const discrete = lifeSafety || alert.rule.startsWith('event.');
  let holder: Incident | undefined;
  for (const i of Object.values(state.open)) if (i.alerts.includes(alert.key)) holder = i;
  if (holder) {
    const t = alert.lastAt;
    // The same alert stays with its incident (identity = rule + subject) up to the maximum duration.
    if (discrete && t - holder.eventAt > opts.maxDurationMs) return openIncident(state, opts, alert, now);
    holder.lastEventAt = Math.max(holder.lastEventAt, t);
    if (lifeSafety && t - holder.lastRearmEventAt >= opts.rearmAfterMs) {
      holder.lastAlertAt = now;
      return rearm(holder, opts, alert, now);
    }
    return [];
  }
  return discrete ? routeCriticalAlert(state, opts, alert, now) : [];
}

/**
 * Escalates every unacknowledged incident whose deadline is at or before `now`; at the top level
 * the top level is notified again every topRepeatMs until someone acknowledges.
 */
export function tickIncidents(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  now: number,
): IncidentOutput[] {
  const out: IncidentOutput[] = [];
  const top = opts.levels.length - 1;
  for (const i of Object.values(state.open)) {
    // A runtime that was down may tick long after several deadlines: each missed level is
    // notified, and missed top-level repeats collapse into one (a flood would help nobody).
    while (i.status === 'open' && i.deadline !== null && i.deadline <= now) {
      const dueAt = i.deadline;
      if (i.level < top) {
        i.level++;
        i.levelName = opts.levels[i.level];
        i.deadline = dueAt + (i.level < top ? opts.escalationStepMs : opts.topRepeatMs);
      } else {
        const missed = Math.floor((now - dueAt) / opts.topRepeatMs);
        i.deadline = dueAt + (missed + 1) * opts.topRepeatMs;
      }
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
  for (const i of Object.values(state.open)) {
    if (i.status !== 'acknowledged' || i.arrivalDeadline === null || i.arrivalDeadline > now) continue;
    // Nobody reported arriving: the level above the one handling it is told, once.
    const dueAt = i.arrivalDeadline;
    i.arrivalDeadline = null;
    const level = opts.levels[Math.min(i.level + 1, top)];
    i.audit.push({
      at: now,
      actor: 'system',
      action: 'arrival_overdue',
      detail: `${level} told, due at ${dueAt}`,
    });
    out.push({ type: 'incident-arrival-overdue', incidentId: i.id, dueAt, at: now });
    out.push({ type: 'notify', incidentId: i.id, village: i.village, level, reason: 'arrival_overdue' });
  }
  return out;
}

export function nextIncidentDeadline(state: IncidentState): number | null {
  let next: number | null = null;
  for (const i of Object.values(state.open)) {
    if (i.status === 'open' && i.deadline !== null && (next === null || i.deadline < next)) next = i.deadline;
    const a = i.arrivalDeadline;
    if (i.status === 'acknowledged' && a !== null && (next === null || a < next)) next = a;
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
  // After a re-arm the first response stays the first; the re-arm's own response is in `responses`.
  if (i.acknowledgedAt === null) {
    i.acknowledgedAt = now;
    i.acknowledgedBy = actor;
    i.firstResponseMs = Math.max(0, now - i.openedAt);
  }
  for (const r of i.responses) {
    if (r.respondedAt === null) {
      r.respondedAt = now;
      r.responseMs = Math.max(0, now - r.at);
    }
  }
  i.deadline = null;
  if (opts.arrivalTimeoutMs !== null && i.arrivedAt === null) i.arrivalDeadline = now + opts.arrivalTimeoutMs;
  i.audit.push({ at: now, actor, action: 'acknowledged' });
  return [
    {
      type: 'incident-acknowledged',
      incidentId: id,
      actor,
      at: now,
      firstResponseMs: Math.max(0, now - i.openedAt),
    },
    ...notifyUpTo(i, opts, 'acknowledged'),
  ];
}

/** The optional step: someone reports arriving on scene; needs an acknowledged incident. */
export function arriveIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  id: string,
  actor: string,
  now: number,
): IncidentOutput[] {
  checkActor(actor);
  const i = find(state, id);
  if (i.status !== 'acknowledged' || i.arrivedAt !== null) {
    throw new RulesError(
      'bad_transition',
      id,
      i.arrivedAt !== null ? 'arrival already reported' : `cannot arrive at an incident that is ${i.status}`,
    );
  }
  i.arrivedAt = now;
  i.arrivedBy = actor;
  i.arrivalMs = Math.max(0, now - (i.acknowledgedAt ?? i.openedAt));
  i.arrivalDeadline = null;
  i.audit.push({ at: now, actor, action: 'arrived' });
  return [
    { type: 'incident-arrived', incidentId: id, actor, at: now, arrivalMs: i.arrivalMs },
    ...notifyUpTo(i, opts, 'arrived'),
  ];
}

/** How an officer closes an incident: an outcome and a note saying what was done. */
export interface IncidentClosing {
  outcome: IncidentOutcome;
  note: string;
}

/** Resolves an acknowledged incident with an outcome and a note; the incident leaves the state in the output. */
export function resolveIncident(
  state: IncidentState,
  opts: ResolvedIncidentOptions,
  id: string,
  actor: string,
  closing: IncidentClosing,
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
  const outcome = closing?.outcome;
  if (!INCIDENT_OUTCOMES.includes(outcome)) {
    throw new RulesError(
      'missing_outcome',
      id,
      `resolving needs an outcome, one of ${INCIDENT_OUTCOMES.join(', ')}`,
      outcome,
    );
  }
  const note = closing.note;
  if (typeof note !== 'string' || note.trim() === '') {
    throw new RulesError('missing_note', id, 'resolving needs a note saying what was done', note);
  }
  i.status = 'resolved';
  i.resolvedAt = now;
  i.resolvedBy = actor;
  i.outcome = outcome;
  i.note = note;
  i.audit.push({ at: now, actor, action: 'resolved', detail: note });
  delete state.open[id];
  return [{ type: 'incident-resolved', incident: i }, ...notifyUpTo(i, opts, 'resolved')];
}
