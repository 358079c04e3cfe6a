import type { DeviceEvent, Reading } from '@village/protocol';
import {
  type AlertBook,
  type AlertOutput,
  type AlertSubject,
  alertKey,
  clearAlert,
  raiseAlert,
  repeatAlert,
} from './alerts.js';
import {
  type CompiledPerson,
  type ElderCareOptions,
  type Person,
  type PersonState,
  type ResolvedElderCareOptions,
  compilePerson,
  createPersonState,
  elderEvent,
  elderNextDeadline,
  elderReading,
  elderTick,
  resolveElderCareOptions,
} from './elder-care.js';
import { RulesError } from './errors.js';
import {
  type Incident,
  type IncidentClosing,
  type IncidentOptions,
  type IncidentOutput,
  type IncidentState,
  type ResolvedIncidentOptions,
  acknowledgeIncident,
  arriveIncident,
  createIncidentState,
  nextIncidentDeadline,
  resolveIncident,
  resolveIncidentOptions,
  routeCriticalAlert,
  routeCriticalRepeat,
  tickIncidents,
} from './incidents.js';
import {
  type ResolvedRollingMeanOptions,
  type RollingMeanOptions,
  type RollingMeanState,
  type RollingMeans,
  addSample,
  createRollingMean,
  resolveRollingMeanOptions,
  rollingMeans,
} from './rolling-mean.js';
import {
  type CompiledThreshold,
  type ThresholdRule,
  type ThresholdState,
  appliesTo,
  compileThreshold,
  evaluateThreshold,
} from './threshold.js';

/**
 * The rules engine a runtime drives: `step` for every committed reading or event, `tick` when
 * the timer set from `nextDeadline` fires, `acknowledgeIncident`/`resolveIncident` for officers'
 * commands. State is plain JSON data, updated in place and also returned; config is compiled
 * once by `compileRules` and is not part of the state (the registry owns it).
 */
export interface DeviceInfo {
  village: string;
  station?: string;
}

/** RulesConfig.deviceEventQuietMs when none is given, ms (30 min). */
export const DEVICE_EVENT_QUIET_MS_DEFAULT = 1_800_000;

export interface RulesConfig {
  /** Non-wristband devices by id (wristbands come from `people`). */
  devices?: Record<string, DeviceInfo>;
  people?: Person[];
  thresholds?: ThresholdRule[];
  elderCare?: ElderCareOptions;
  incidents?: IncidentOptions;
  /** Metrics to keep 1 h / 8 h / 24 h means of, per device (e.g. pm25, pm10, o3). */
  means?: { metrics: string[]; options?: RollingMeanOptions };
  /** A critical event of a non-wristband device (smoke, intrusion) clears after this long without another, ms. Default 1 800 000. */
  deviceEventQuietMs?: number;
}

export interface CompiledRules {
  devices: Map<string, DeviceInfo>;
  people: CompiledPerson[];
  peopleByDevice: Map<string, CompiledPerson>;
  thresholdsByMetric: Map<string, CompiledThreshold[]>;
  elder: ResolvedElderCareOptions;
  incidents: ResolvedIncidentOptions;
  meanMetrics: Set<string>;
  meanOptions: ResolvedRollingMeanOptions;
  deviceEventQuietMs: number;
}

export function compileRules(config: RulesConfig): CompiledRules {
  const devices = new Map<string, DeviceInfo>();
  for (const [id, d] of Object.entries(config.devices ?? {})) {
    if (!d || typeof d.village !== 'string' || d.village === '') {
      throw new RulesError('bad_config', `devices.${id}.village`, 'must be a non-empty string', d?.village);
    }
    devices.set(id, d);
  }
  const people = (config.people ?? []).map((p, i) => compilePerson(p, `people[${i}]`));
  const peopleByDevice = new Map<string, CompiledPerson>();
  const ids = new Set<string>();
  people.forEach((p, i) => {
    if (ids.has(p.id)) throw new RulesError('bad_config', `people[${i}].id`, 'is not unique', p.id);
    if (peopleByDevice.has(p.device))
      throw new RulesError('bad_config', `people[${i}].device`, 'is worn by two people', p.device);
    ids.add(p.id);
    peopleByDevice.set(p.device, p);
  });
  const thresholdsByMetric = new Map<string, CompiledThreshold[]>();
  const ruleIds = new Set<string>();
  (config.thresholds ?? []).forEach((r, i) => {
    const c = compileThreshold(r, `thresholds[${i}]`);
    if (ruleIds.has(c.id)) throw new RulesError('bad_config', `thresholds[${i}].id`, 'is not unique', c.id);
    ruleIds.add(c.id);
    const list = thresholdsByMetric.get(c.metric);
    if (list) list.push(c);
    else thresholdsByMetric.set(c.metric, [c]);
  });
  const deviceEventQuietMs = config.deviceEventQuietMs ?? DEVICE_EVENT_QUIET_MS_DEFAULT;
  if (!Number.isFinite(deviceEventQuietMs) || deviceEventQuietMs <= 0) {
    throw new RulesError('bad_config', 'deviceEventQuietMs', 'must be > 0 ms', deviceEventQuietMs);
  }
  return {
    devices,
    people,
    peopleByDevice,
    thresholdsByMetric,
    elder: resolveElderCareOptions(config.elderCare),
    incidents: resolveIncidentOptions(config.incidents),
    meanMetrics: new Set(config.means?.metrics ?? []),
    meanOptions: resolveRollingMeanOptions(config.means?.options),
    deviceEventQuietMs,
  };
}

export const STATE_FORMAT = 'village-rules/1';

export interface EngineState {
  format: typeof STATE_FORMAT;
  /** Active alerts by key. */
  alerts: AlertBook;
  thresholds: ThresholdState;
  people: Record<string, PersonState>;
  /** Receipt time of the last critical event per active device-event alert key. */
  deviceEvents: Record<string, number>;
  /** Rolling means by `${device}|${metric}`. */
  means: Record<string, RollingMeanState>;
  incidents: IncidentState;
  /** Stations whose edge is offline, with the edge and the time it went (receipt time). */
  offlineStations: Record<string, { edge: string; village: string; since: number }>;
  /** Inputs the engine could not use, by reason. */
  rejected: Record<string, number>;
}

export type RejectReason =
  | 'bad_shape'
  | 'bad_quality'
  | 'bad_timestamp'
  | 'unknown_device'
  | 'wrong_value_type'
  | 'implausible_value'
  | 'too_old';

export type RulesOutput =
  | AlertOutput
  | IncidentOutput
  | { type: 'input-rejected'; reason: RejectReason; device: string; metric?: string };

/** An edge's birth (online) or death (offline), as the cloud's status ingest applied it. */
export interface StationStatus {
  station: string;
  village: string;
  edge: string;
  online: boolean;
}

export type RulesInput =
  | { kind: 'reading'; reading: Reading }
  | { kind: 'event'; event: DeviceEvent }
  | { kind: 'station'; status: StationStatus };

export interface StepResult {
  state: EngineState;
  outputs: RulesOutput[];
}

export function createState(rules: CompiledRules, now: number): EngineState {
  const state: EngineState = {
    format: STATE_FORMAT,
    alerts: {},
    thresholds: {},
    people: {},
    deviceEvents: {},
    means: {},
    incidents: createIncidentState(),
    offlineStations: {},
    rejected: {},
  };
  for (const p of rules.people) state.people[p.id] = createPersonState(now);
  return state;
}

function personState(state: EngineState, p: CompiledPerson, now: number): PersonState {
  let ps = state.people[p.id];
  if (!ps) ps = state.people[p.id] = createPersonState(now);
  return ps;
}

function reject(
  state: EngineState,
  out: RulesOutput[],
  reason: RejectReason,
  device: unknown,
  metric?: unknown,
): void {
  state.rejected[reason] = (state.rejected[reason] ?? 0) + 1;
  const o: RulesOutput = { type: 'input-rejected', reason, device: String(device) };
  if (metric !== undefined) o.metric = String(metric);
  out.push(o);
}

/** Sends every newly raised or repeated critical alert to the incident book. */
function routeAlerts(
  rules: CompiledRules,
  state: EngineState,
  alertOuts: AlertOutput[],
  now: number,
  out: RulesOutput[],
): void {
  for (const o of alertOuts) {
    out.push(o);
    if (o.type === 'alert-raised' && o.alert.severity === 'critical') {
      for (const x of routeCriticalAlert(state.incidents, rules.incidents, o.alert, now)) out.push(x);
    } else if (o.type === 'alert-repeated') {
      const a = state.alerts[o.key];
      if (a && a.severity === 'critical')
        for (const x of routeCriticalRepeat(state.incidents, rules.incidents, a, now)) out.push(x);
    }
  }
}

function stepReading(
  rules: CompiledRules,
  state: EngineState,
  r: Reading,
  now: number,
  out: RulesOutput[],
): void {
  if (!r || typeof r !== 'object' || typeof r.device !== 'string' || typeof r.metric !== 'string') {
    reject(state, out, 'bad_shape', (r as Partial<Reading> | null)?.device);
    return;
  }
  if (!Number.isFinite(r.ts)) {
    reject(state, out, 'bad_timestamp', r.device, r.metric);
    return;
  }
  // 'bad' readings are the device's own verdict; 'suspect' ones are still used.
  if (r.quality === 'bad') {
    reject(state, out, 'bad_quality', r.device, r.metric);
    return;
  }
  const alertOuts: AlertOutput[] = [];
  const person = rules.peopleByDevice.get(r.device);
  const where: DeviceInfo | undefined = person ?? rules.devices.get(r.device);
  if (!where) {
    reject(state, out, 'unknown_device', r.device, r.metric);
    return;
  }
  let wrongType = false;
  if (person) {
    const ps = personState(state, person, now);
    const verdict = elderReading(
      person,
      ps,
      rules.elder,
      state.alerts,
      r.metric,
      r.value,
      r.ts,
      now,
      alertOuts,
    );
    wrongType = verdict === 'wrong_type';
    // A vital no living person has (heart rate 0 or 300): a sensor artefact, counted, not judged.
    if (verdict === 'implausible') reject(state, out, 'implausible_value', r.device, r.metric);
  }
  const thresholds = rules.thresholdsByMetric.get(r.metric);
  const wantsMean = rules.meanMetrics.has(r.metric);
  if (thresholds || wantsMean) {
    if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
      wrongType = true;
    } else {
      const value = r.value;
      if (thresholds) {
        const subject: AlertSubject & { device: string } = { village: where.village, device: r.device };
        if (where.station) subject.station = where.station;
        for (const rule of thresholds) {
          if (appliesTo(rule, r.device, where.village)) {
            evaluateThreshold(
              rule,
              state.thresholds,
              state.alerts,
              subject,
              value,
              r.ts,
              now,
              alertOuts,
              r.unit,
            );
          }
        }
      }
      if (wantsMean) {
        const k = `${r.device}|${r.metric}`;
        let m = state.means[k];
        if (!m) m = state.means[k] = createRollingMean();
        if (addSample(m, rules.meanOptions, r.ts, value) === 'too-old')
          reject(state, out, 'too_old', r.device, r.metric);
      }
    }
  }
  if (wrongType) reject(state, out, 'wrong_value_type', r.device, r.metric);
  routeAlerts(rules, state, alertOuts, now, out);
}

function stepEvent(
  rules: CompiledRules,
  state: EngineState,
  e: DeviceEvent,
  now: number,
  out: RulesOutput[],
): void {
  if (!e || typeof e !== 'object' || typeof e.device !== 'string' || typeof e.type !== 'string') {
    reject(state, out, 'bad_shape', (e as Partial<DeviceEvent> | null)?.device);
    return;
  }
  if (!Number.isFinite(e.ts)) {
    reject(state, out, 'bad_timestamp', e.device);
    return;
  }
  const alertOuts: AlertOutput[] = [];
  const person = rules.peopleByDevice.get(e.device);
  if (
    person &&
    elderEvent(
      person,
      personState(state, person, now),
      rules.elder,
      state.alerts,
      e.type,
      e.ts,
      now,
      alertOuts,
    )
  ) {
    routeAlerts(rules, state, alertOuts, now, out);
    return;
  }
  const where: DeviceInfo | undefined = person ?? rules.devices.get(e.device);
  if (!where) {
    reject(state, out, 'unknown_device', e.device);
    return;
  }
  if (e.severity !== 'critical') return;
  // Any other critical device event (smoke, intrusion, ...) is an alert about its place.
  const key = alertKey(`event.${e.type}`, e.device);
  state.deviceEvents[key] = now;
  if (state.alerts[key]) {
    const o = repeatAlert(state.alerts, key, e.ts);
    if (o) alertOuts.push(o);
  } else {
    const subject: AlertSubject = { village: where.village, device: e.device };
    if (where.station) subject.station = where.station;
    if (person) subject.person = person.id;
    const spec = {
      key,
      rule: `event.${e.type}`,
      severity: e.severity,
      subject,
      message: `${e.type} reported by ${e.device}`,
      text: {
        kind: 'device_event' as const,
        device: e.device,
        event: e.type,
        ...(where.station ? { station: where.station } : {}),
      },
    };
    alertOuts.push(raiseAlert(state.alerts, spec, e.ts, e.ts, now, 1).output);
  }
  routeAlerts(rules, state, alertOuts, now, out);
}

/**
 * An edge that went offline is the root cause of every silence behind it: one critical
 * 'edge.offline' alert (one incident) for the station, and no silence alert for the bands it
 * carries while it is down. Back online, the bands' silence timers start again from then, so the
 * backlog has time to arrive.
 */
function stepStation(
  rules: CompiledRules,
  state: EngineState,
  st: StationStatus,
  now: number,
  out: RulesOutput[],
): void {
  if (
    !st ||
    typeof st.station !== 'string' ||
    typeof st.village !== 'string' ||
    typeof st.edge !== 'string'
  ) {
    reject(state, out, 'bad_shape', (st as Partial<StationStatus> | null)?.edge);
    return;
  }
  const key = alertKey('edge.offline', st.station);
  const alertOuts: AlertOutput[] = [];
  if (!st.online) {
    if (state.offlineStations[st.station]) return;
    state.offlineStations[st.station] = { edge: st.edge, village: st.village, since: now };
    const spec = {
      key,
      rule: 'edge.offline',
      severity: 'critical' as const,
      subject: { village: st.village, station: st.station, device: st.edge },
      message: `edge ${st.edge} of station ${st.station} offline`,
      text: { kind: 'edge_offline' as const, device: st.edge, station: st.station },
    };
    alertOuts.push(raiseAlert(state.alerts, spec, now, now, now, 1).output);
  } else {
    const was = state.offlineStations[st.station];
    if (!was) return;
    delete state.offlineStations[st.station];
    for (const p of rules.people) {
      if (p.station !== st.station) continue;
      const ps = personState(state, p, now);
      ps.lastHeardAt = Math.max(ps.lastHeardAt, now);
    }
    const o = clearAlert(state.alerts, key, now);
    if (o) alertOuts.push(o);
  }
  routeAlerts(rules, state, alertOuts, now, out);
}

/** The people whose band silence is explained by their station's edge being offline. */
function behindOfflineEdge(state: EngineState, p: CompiledPerson): boolean {
  return p.station !== undefined && state.offlineStations[p.station] !== undefined;
}

/** Feeds one committed reading or event; `now` is when the cloud received it (ms epoch). */
export function step(rules: CompiledRules, state: EngineState, input: RulesInput, now: number): StepResult {
  const outputs: RulesOutput[] = [];
  if (input?.kind === 'reading') stepReading(rules, state, input.reading, now, outputs);
  else if (input?.kind === 'event') stepEvent(rules, state, input.event, now, outputs);
  else if (input?.kind === 'station') stepStation(rules, state, input.status, now, outputs);
  else reject(state, outputs, 'bad_shape', undefined);
  return { state, outputs };
}

/** Runs every time-driven rule due at or before `now`: escalations, silence, no movement, quiet clears. */
export function tick(rules: CompiledRules, state: EngineState, now: number): StepResult {
  const outputs: RulesOutput[] = [];
  const alertOuts: AlertOutput[] = [];
  for (const p of rules.people) {
    const ps = personState(state, p, now);
    // Behind an offline edge the band cannot be heard: its silence timer waits for the edge.
    if (behindOfflineEdge(state, p)) ps.lastHeardAt = Math.max(ps.lastHeardAt, now);
    elderTick(p, ps, rules.elder, state.alerts, now, alertOuts);
  }
  for (const [key, at] of Object.entries(state.deviceEvents)) {
    if (now - at >= rules.deviceEventQuietMs) {
      delete state.deviceEvents[key];
      const o = clearAlert(state.alerts, key, now);
      if (o) alertOuts.push(o);
    }
  }
  // Escalate first, so that an incident opened by this very tick starts with a full window.
  for (const o of tickIncidents(state.incidents, rules.incidents, now)) outputs.push(o);
  routeAlerts(rules, state, alertOuts, now, outputs);
  return { state, outputs };
}

/**
 * The earliest time at which `tick` has something to do, or null. A runtime sets one timer for
 * it (and re-reads it after every step, tick and command). `now` is needed for waking hours.
 */
export function nextDeadline(rules: CompiledRules, state: EngineState, now: number): number | null {
  let next = nextIncidentDeadline(state.incidents);
  const consider = (t: number | null) => {
    if (t !== null && (next === null || t < next)) next = t;
  };
  for (const p of rules.people) {
    const ps = state.people[p.id];
    if (behindOfflineEdge(state, p)) continue;
    consider(ps ? elderNextDeadline(p, ps, rules.elder, state.alerts, now) : now);
  }
  for (const at of Object.values(state.deviceEvents)) consider(at + rules.deviceEventQuietMs);
  return next;
}

export function acknowledge(
  rules: CompiledRules,
  state: EngineState,
  incidentId: string,
  actor: string,
  now: number,
): StepResult {
  return { state, outputs: acknowledgeIncident(state.incidents, rules.incidents, incidentId, actor, now) };
}

/** The optional "arrived on scene" step of an acknowledged incident. */
export function arrive(
  rules: CompiledRules,
  state: EngineState,
  incidentId: string,
  actor: string,
  now: number,
): StepResult {
  return { state, outputs: arriveIncident(state.incidents, rules.incidents, incidentId, actor, now) };
}

export function resolve(
  rules: CompiledRules,
  state: EngineState,
  incidentId: string,
  actor: string,
  closing: IncidentClosing,
  now: number,
): StepResult {
  return {
    state,
    outputs: resolveIncident(state.incidents, rules.incidents, incidentId, actor, closing, now),
  };
}

/** 1 h / 8 h / 24 h means of one device's metric as of `now`, or null when it is not tracked. */
export function seriesMeans(
  rules: CompiledRules,
  state: EngineState,
  device: string,
  metric: string,
  now: number,
): RollingMeans | null {
  const m = state.means[`${device}|${metric}`];
  return m ? rollingMeans(m, rules.meanOptions, now) : null;
}

export function serializeState(state: EngineState): string {
  return JSON.stringify(state);
}

/** Fills the fields an incident saved before issue 15 lacks (one subject, responses, outcome). */
function upgradeIncident(i: Incident): void {
  const u = i as Partial<Incident> & Incident;
  u.station ??= null;
  u.subject ??= `incident:${i.id}`;
  u.kind ??= i.alerts[0]?.split('|')[0] ?? 'unknown';
  u.situation ??= i.id;
  u.priority ??= 1;
  u.lastEventAt ??= i.eventAt;
  u.lastRearmEventAt ??= i.eventAt;
  u.responses ??= [
    {
      alert: i.alerts[0] ?? i.id,
      at: i.openedAt,
      respondedAt: i.acknowledgedAt,
      responseMs: i.firstResponseMs,
    },
  ];
  u.outcome ??= null;
  u.arrivedAt ??= null;
  u.arrivedBy ??= null;
  u.arrivalMs ??= null;
  u.arrivalDeadline ??= null;
}

/** Parses a state written by serializeState; throws RulesError when it is not one. */
export function restoreState(json: string): EngineState {
  let s: unknown;
  try {
    s = JSON.parse(json);
  } catch (err) {
    throw new RulesError('bad_value', 'state', `is not JSON: ${(err as Error).message}`);
  }
  const o = s as Partial<EngineState> | null;
  if (!o || typeof o !== 'object' || o.format !== STATE_FORMAT) {
    throw new RulesError(
      'bad_value',
      'state.format',
      `must be ${STATE_FORMAT}`,
      o && typeof o === 'object' ? o.format : o,
    );
  }
  for (const k of [
    'alerts',
    'thresholds',
    'people',
    'deviceEvents',
    'means',
    'incidents',
    'rejected',
  ] as const) {
    if (!o[k] || typeof o[k] !== 'object') throw new RulesError('bad_value', `state.${k}`, 'is missing');
  }
  if (!o.incidents?.open || typeof o.incidents.seq !== 'number') {
    throw new RulesError('bad_value', 'state.incidents', 'must have seq and open');
  }
  for (const i of Object.values(o.incidents.open)) upgradeIncident(i);
  o.offlineStations ??= {};
  return o as EngineState;
}
