import type { Severity, Value } from '@village/protocol';
import { type AlertText, renderAlertText } from './alert-text.js';
import {
  type AlertBook,
  type AlertOutput,
  type AlertSpec,
  type AlertSubject,
  alertKey,
  clearAlert,
  raiseAlert,
  repeatAlert,
} from './alerts.js';
import { RulesError } from './errors.js';
import {
  type ConditionSignal,
  type HeldCondition,
  advanceCondition,
  idleCondition,
} from './held-condition.js';
import {
  type CompiledWindow,
  type WakingHours,
  compileWakingHours,
  isWaking,
  wakingWindowAtOrAfter,
} from './waking-hours.js';

/**
 * Elder-care rules over decoded wristband metrics (heart_rate bpm, spo2 %, steps cumulative,
 * battery %, worn boolean, lat, lon) and wristband events (`fall`, `sos`).
 */
export interface Person {
  id: string;
  village: string;
  station?: string;
  /** Wristband device id. */
  device: string;
  livesAlone: boolean;
  /** The person's own normal heart-rate range, bpm. */
  heartRate: { min: number; max: number };
  /** The person's own lowest normal SpO2, %. */
  spo2: { min: number };
  waking: WakingHours;
  /** Quiet windows (e.g. 午休 12:00–14:30) in which no-movement time does not count. */
  quiet?: WakingHours[];
  /** The band's reporting interval from its profile or the registry, ms; else observed, else the default. */
  reportIntervalMs?: number;
}

export type ElderRule =
  | 'fall'
  | 'sos'
  | 'heart_rate'
  | 'spo2'
  | 'no_movement'
  | 'no_movement_critical'
  | 'not_worn'
  | 'battery_low'
  | 'device_silent'
  | 'silent_alone';

export interface ElderCareOptions {
  /** Heart rate or SpO2 must stay outside the range this long before alerting, ms (data time). Default 300 000. */
  vitalsHoldMs?: number;
  /** Heart rate clears once this far back inside the range, bpm. Default 3. */
  heartRateClearMarginBpm?: number;
  /** SpO2 clears once this far above its minimum, %. Default 1. */
  spo2ClearMarginPct?: number;
  /** No step increase for this long during waking hours (quiet windows excluded) warns, for people living alone, and asks for a check call, ms. Default 10 800 000 (3 h). */
  noMovementMs?: number;
  /** ...and is critical after this long, or at once when the band is also reported not worn, ms. Default 18 000 000 (5 h), at least noMovementMs. */
  noMovementCriticalMs?: number;
  /** Wristband reported not worn for this long during waking hours alerts, ms. Default 900 000. */
  notWornHoldMs?: number;
  /** Battery at or below this alerts, %. Default 20. */
  batteryLowPct?: number;
  /** Battery at or above this clears, %. Default 30. */
  batteryClearPct?: number;
  /** A wristband's reporting interval when neither the person nor the observed history gives one, ms. Default 60 000. */
  reportIntervalMs?: number;
  /** Silent for longer than the band's interval × silenceFactor warns. Default 3. */
  silenceFactor?: number;
  /** The band of a person living alone silent this long is critical (an incident), ms. Default 1 800 000 (30 min). */
  silenceAloneCriticalMs?: number;
  /** Heart rate outside this range is a sensor artefact, not a vital sign, bpm. Default [30, 220]. */
  plausibleHeartRate?: [number, number];
  /** SpO2 below this is a sensor artefact, %. Default 50. */
  plausibleSpo2Min?: number;
  /** A fall/SOS alert clears after this long without another, ms (receipt time). Default 1 800 000. */
  eventQuietMs?: number;
  /** Local time zone for waking hours, minutes east of UTC. Default 480 (China Standard Time). */
  utcOffsetMinutes?: number;
  /** Per-rule severity; defaults: fall, sos, heart_rate, spo2, no_movement critical; the rest warning. */
  severity?: Partial<Record<ElderRule, Severity>>;
}

export interface CompiledPerson extends Person {
  window: CompiledWindow;
  quietWindows: CompiledWindow[];
}

export interface ResolvedElderCareOptions {
  vitalsHoldMs: number;
  hrMargin: number;
  spo2Margin: number;
  noMovementMs: number;
  noMovementCriticalMs: number;
  notWornHoldMs: number;
  batteryLowPct: number;
  batteryClearPct: number;
  reportIntervalMs: number;
  silenceFactor: number;
  silenceAloneCriticalMs: number;
  hrPlausibleMin: number;
  hrPlausibleMax: number;
  spo2PlausibleMin: number;
  eventQuietMs: number;
  utcOffsetMinutes: number;
  severity: Record<ElderRule, Severity>;
}

export function resolveElderCareOptions(o: ElderCareOptions = {}): ResolvedElderCareOptions {
  const r: ResolvedElderCareOptions = {
    vitalsHoldMs: o.vitalsHoldMs ?? 300_000,
    hrMargin: o.heartRateClearMarginBpm ?? 3,
    spo2Margin: o.spo2ClearMarginPct ?? 1,
    noMovementMs: o.noMovementMs ?? 3 * 3_600_000,
    noMovementCriticalMs: o.noMovementCriticalMs ?? Math.max(5 * 3_600_000, o.noMovementMs ?? 0),
    notWornHoldMs: o.notWornHoldMs ?? 900_000,
    batteryLowPct: o.batteryLowPct ?? 20,
    batteryClearPct: o.batteryClearPct ?? 30,
    reportIntervalMs: o.reportIntervalMs ?? 60_000,
    silenceFactor: o.silenceFactor ?? 3,
    silenceAloneCriticalMs: o.silenceAloneCriticalMs ?? 1_800_000,
    hrPlausibleMin: o.plausibleHeartRate?.[0] ?? 30,
    hrPlausibleMax: o.plausibleHeartRate?.[1] ?? 220,
    spo2PlausibleMin: o.plausibleSpo2Min ?? 50,
    eventQuietMs: o.eventQuietMs ?? 1_800_000,
    utcOffsetMinutes: o.utcOffsetMinutes ?? 480,
    severity: {
      fall: 'critical',
      sos: 'critical',
      heart_rate: 'critical',
      spo2: 'critical',
      // Tiered: a warning and a check call first; critical later (see noMovementCriticalMs).
      no_movement: 'warning',
      no_movement_critical: 'critical',
      not_worn: 'warning',
      battery_low: 'warning',
      device_silent: 'warning',
      silent_alone: 'critical',
      ...o.severity,
    },
  };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'number' && (!Number.isFinite(v) || (v < 0 && k !== 'utcOffsetMinutes'))) {
      throw new RulesError('bad_config', `elderCare.${k}`, 'must be a finite number >= 0', v);
    }
  }
  if (r.reportIntervalMs <= 0)
    throw new RulesError('bad_config', 'elderCare.reportIntervalMs', 'must be > 0', r.reportIntervalMs);
  if (r.noMovementCriticalMs < r.noMovementMs)
    throw new RulesError(
      'bad_config',
      'elderCare.noMovementCriticalMs',
      'must be >= noMovementMs',
      r.noMovementCriticalMs,
    );
  if (r.hrPlausibleMin >= r.hrPlausibleMax)
    throw new RulesError(
      'bad_config',
      'elderCare.plausibleHeartRate',
      'must be [min, max] with min < max',
      o.plausibleHeartRate,
    );
  if (r.batteryClearPct < r.batteryLowPct) {
    throw new RulesError(
      'bad_config',
      'elderCare.batteryClearPct',
      'must be >= batteryLowPct',
      r.batteryClearPct,
    );
  }
  return r;
}

export function compilePerson(p: Person, path: string): CompiledPerson {
  for (const f of ['id', 'village', 'device'] as const) {
    if (typeof p[f] !== 'string' || p[f] === '')
      throw new RulesError('bad_config', `${path}.${f}`, 'must be a non-empty string', p[f]);
  }
  const hr = p.heartRate;
  if (!hr || !Number.isFinite(hr.min) || !Number.isFinite(hr.max) || hr.min >= hr.max) {
    throw new RulesError('bad_config', `${path}.heartRate`, 'must be { min, max } with min < max (bpm)', hr);
  }
  if (!p.spo2 || !Number.isFinite(p.spo2.min) || p.spo2.min <= 0 || p.spo2.min > 100) {
    throw new RulesError('bad_config', `${path}.spo2.min`, 'must be a percentage in (0, 100]', p.spo2?.min);
  }
  if (p.reportIntervalMs !== undefined && !(Number.isFinite(p.reportIntervalMs) && p.reportIntervalMs > 0)) {
    throw new RulesError('bad_config', `${path}.reportIntervalMs`, 'must be > 0 ms', p.reportIntervalMs);
  }
  if (p.quiet !== undefined && !Array.isArray(p.quiet))
    throw new RulesError('bad_config', `${path}.quiet`, 'must be a list of { from, to }', p.quiet);
  return {
    ...p,
    livesAlone: p.livesAlone === true,
    window: compileWakingHours(p.waking, `${path}.waking`),
    quietWindows: (p.quiet ?? []).map((q, i) => compileWakingHours(q, `${path}.quiet[${i}]`)),
  };
}

const WRISTBAND_NUMERIC = new Set(['heart_rate', 'spo2', 'battery', 'steps', 'lat', 'lon']);

export interface PersonState {
  /** Receipt time of the last reading or event from the wristband (or when tracking began). */
  lastHeardAt: number;
  lastSteps: number | null;
  /** Data time of the last step increase (or when tracking began). */
  lastMoveAt: number;
  position: { lat: number; lon: number } | null;
  pendingLat: number | null;
  conditions: Partial<Record<'heart_rate' | 'spo2' | 'not_worn' | 'battery_low', HeldCondition>>;
  /** Receipt time of the last fall / SOS, while its alert is active. */
  lastEventAt: Partial<Record<'fall' | 'sos', number>>;
  /** Last reported `worn`; vitals are judged only while worn. Absent: assumed worn. */
  worn?: boolean;
  /** Observed reporting interval: a moving average of the gaps between receipts, ms. */
  observedIntervalMs?: number;
  /** Gaps that fed observedIntervalMs (it is used from 3 on). */
  observedGaps?: number;
}

export function createPersonState(now: number): PersonState {
  return {
    lastHeardAt: now,
    lastSteps: null,
    lastMoveAt: now,
    position: null,
    pendingLat: null,
    conditions: {},
    lastEventAt: {},
  };
}

function subject(p: CompiledPerson): AlertSubject {
  const s: AlertSubject = { village: p.village, person: p.id, device: p.device };
  if (p.station) s.station = p.station;
  return s;
}

/** Fields of an elder alert's text besides the person, who is always the subject. */
type ElderText = Omit<AlertText, 'person' | 'device' | 'station'>;

function spec(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  rule: ElderRule,
  fields: ElderText,
  value?: Value,
): AlertSpec {
  const text: AlertText = { ...fields, person: p.id, device: p.device };
  if (p.station) text.station = p.station;
  return {
    key: alertKey(`elder.${rule}`, p.id),
    rule: `elder.${rule}`,
    severity: opts.severity[rule],
    subject: subject(p),
    // For logs; people read `text`, rendered in their language with the names they may see.
    message: renderAlertText(text, 'en'),
    text,
    value,
    position: ps.position ?? undefined,
  };
}

/** One held condition of a person's band (heart rate, SpO2, not worn, battery), judged on one reading. */
interface ConditionRun {
  p: CompiledPerson;
  ps: PersonState;
  opts: ResolvedElderCareOptions;
  book: AlertBook;
  rule: 'heart_rate' | 'spo2' | 'not_worn' | 'battery_low';
  signal: ConditionSignal;
  /** How long the condition must hold before it raises, ms (data time). */
  holdMs: number;
  /** The alert text's fields; the held duration is added for all but battery_low. */
  fields: ElderText;
  value: Value;
  /** Data time of the reading. */
  ts: number;
  /** Receipt time. */
  now: number;
  out: AlertOutput[];
}

function runCondition({
  p,
  ps,
  opts,
  book,
  rule,
  signal,
  holdMs,
  fields,
  value,
  ts,
  now,
  out,
}: ConditionRun): void {
  let c = ps.conditions[rule];
  if (!c) {
    if (signal !== 'trigger') return;
    c = ps.conditions[rule] = idleCondition();
  }
  const t = advanceCondition(c, signal, ts, holdMs, 0);
  const key = alertKey(`elder.${rule}`, p.id);
  if (t === 'raise') {
    const text = rule === 'battery_low' ? fields : { ...fields, durationMs: ts - c.since };
    out.push(raiseAlert(book, spec(p, ps, opts, rule, text, value), c.since, ts, now, c.count).output);
  } else if (t === 'repeat') {
    const o = repeatAlert(book, key, ts, value, c.count);
    if (o) out.push(o);
  } else if (t === 'clear') {
    const o = clearAlert(book, key, ts);
    if (o) out.push(o);
  }
  if (c.phase === 'idle') delete ps.conditions[rule];
}

/** Gaps longer than this are outages, not the band's rhythm. */
const MAX_RHYTHM_GAP_MS = 6 * 3_600_000;

/**
 * The band was heard at receipt time `now`: learns its rhythm from the gaps (readings of one
 * batch share a receipt time, so gaps under a second are the same report) and clears silence.
 */
function heard(p: CompiledPerson, ps: PersonState, book: AlertBook, now: number, out: AlertOutput[]): void {
  const gap = now - ps.lastHeardAt;
  if (gap >= 1_000 && gap <= MAX_RHYTHM_GAP_MS && !book[alertKey('elder.device_silent', p.id)]) {
    const n = ps.observedGaps ?? 0;
    ps.observedIntervalMs = n === 0 ? gap : Math.round(0.8 * (ps.observedIntervalMs ?? gap) + 0.2 * gap);
    ps.observedGaps = n + 1;
  }
  ps.lastHeardAt = Math.max(ps.lastHeardAt, now);
  for (const rule of ['device_silent', 'silent_alone']) {
    const o = clearAlert(book, alertKey(`elder.${rule}`, p.id), now);
    if (o) out.push(o);
  }
}

/** The band's expected reporting interval: its profile/registry value, else observed (3+ gaps), else the default. */
export function expectedIntervalMs(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
): number {
  if (p.reportIntervalMs !== undefined) return p.reportIntervalMs;
  if ((ps.observedGaps ?? 0) >= 3 && ps.observedIntervalMs !== undefined) return ps.observedIntervalMs;
  return opts.reportIntervalMs;
}

function silenceAfterMs(p: CompiledPerson, ps: PersonState, opts: ResolvedElderCareOptions): number {
  return expectedIntervalMs(p, ps, opts) * opts.silenceFactor;
}

/** When the critical silence of a living-alone person's band is due: never before the warning. */
function silentAloneAfterMs(p: CompiledPerson, ps: PersonState, opts: ResolvedElderCareOptions): number {
  return Math.max(opts.silenceAloneCriticalMs, silenceAfterMs(p, ps, opts));
}

/**
 * One decoded wristband reading. Returns 'wrong_type' when a wristband metric has a value of
 * the wrong type (the caller counts it), 'other' for a metric these rules do not use.
 */
export function elderReading(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  metric: string,
  value: Value,
  ts: number,
  now: number,
  out: AlertOutput[],
): 'ok' | 'wrong_type' | 'implausible' | 'other' {
  heard(p, ps, book, now, out);
  // What every condition this reading feeds is judged in.
  const at = { p, ps, opts, book, value, ts, now, out };
  if (metric === 'worn') {
    if (typeof value !== 'boolean') return 'wrong_type';
    ps.worn = value;
    const signal: ConditionSignal = value
      ? 'clear'
      : isWaking(p.window, ts, opts.utcOffsetMinutes)
        ? 'trigger'
        : 'deadband';
    runCondition({
      ...at,
      rule: 'not_worn',
      signal,
      holdMs: opts.notWornHoldMs,
      fields: { kind: 'not_worn' },
    });
    return 'ok';
  }
  if (!WRISTBAND_NUMERIC.has(metric)) return 'other';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'wrong_type';
  if (metric === 'heart_rate' || metric === 'spo2') {
    // A band off the wrist reads 0 or noise: judge vitals only while worn, and treat values no
    // living person has as artefacts. Either way a pending hold restarts.
    const implausible =
      metric === 'heart_rate'
        ? value < opts.hrPlausibleMin || value > opts.hrPlausibleMax
        : value < opts.spo2PlausibleMin || value > 100;
    if (ps.worn === false || implausible) {
      const c = ps.conditions[metric];
      if (c?.phase === 'pending') delete ps.conditions[metric];
      return ps.worn === false ? 'ok' : 'implausible';
    }
  }
  switch (metric) {
    case 'heart_rate': {
      const { min, max } = p.heartRate;
      const signal: ConditionSignal =
        value < min || value > max
          ? 'trigger'
          : value >= min + opts.hrMargin && value <= max - opts.hrMargin
            ? 'clear'
            : 'deadband';
      const msg: ElderText = { kind: 'heart_rate', metric, value, unit: 'bpm', range: [min, max] };
      runCondition({ ...at, rule: 'heart_rate', signal, holdMs: opts.vitalsHoldMs, fields: msg });
      return 'ok';
    }
    case 'spo2': {
      const min = p.spo2.min;
      const signal: ConditionSignal =
        value < min ? 'trigger' : value >= min + opts.spo2Margin ? 'clear' : 'deadband';
      runCondition({
        ...at,
        rule: 'spo2',
        signal,
        holdMs: opts.vitalsHoldMs,
        fields: { kind: 'spo2', metric, value, unit: '%', threshold: min, direction: 'below' },
      });
      return 'ok';
    }
    case 'battery': {
      const signal: ConditionSignal =
        value <= opts.batteryLowPct ? 'trigger' : value >= opts.batteryClearPct ? 'clear' : 'deadband';
      runCondition({
        ...at,
        rule: 'battery_low',
        signal,
        holdMs: 0,
        fields: {
          kind: 'battery_low',
          metric,
          value,
          unit: '%',
          threshold: opts.batteryLowPct,
          direction: 'below',
        },
      });
      return 'ok';
    }
    case 'steps': {
      // Steps are cumulative; a drop is the daily counter resetting, not movement.
      if (ps.lastSteps !== null && value > ps.lastSteps) {
        ps.lastMoveAt = Math.max(ps.lastMoveAt, ts);
        for (const rule of ['no_movement', 'no_movement_critical']) {
          const o = clearAlert(book, alertKey(`elder.${rule}`, p.id), ts);
          if (o) out.push(o);
        }
      }
      ps.lastSteps = value;
      return 'ok';
    }
    case 'lat':
      ps.pendingLat = value;
      return 'ok';
    case 'lon':
      if (ps.pendingLat !== null) ps.position = { lat: ps.pendingLat, lon: value };
      return 'ok';
    default:
      return 'other';
  }
}

/** A wristband event: fall and SOS raise a critical alert at once; repeats count on it. */
export function elderEvent(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  type: string,
  ts: number,
  now: number,
  out: AlertOutput[],
): boolean {
  heard(p, ps, book, now, out);
  if (type !== 'fall' && type !== 'sos') return false;
  ps.lastEventAt[type] = now;
  const key = alertKey(`elder.${type}`, p.id);
  if (book[key]) {
    const o = repeatAlert(book, key, ts);
    if (o) out.push(o);
  } else {
    const msg: ElderText = { kind: type };
    out.push(raiseAlert(book, spec(p, ps, opts, type, msg), ts, ts, now, 1).output);
  }
  return true;
}

/**
 * When `needMs` of waking time without movement (quiet windows excluded) will have passed since
 * the last movement, or null. The count restarts each waking window, as a night's sleep is not
 * inactivity.
 */
function noMovementDue(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  now: number,
  needMs: number,
): number | null {
  if (!p.livesAlone) return null;
  let w = wakingWindowAtOrAfter(p.window, Math.min(now, ps.lastMoveAt), opts.utcOffsetMinutes);
  // Two windows cover every case: the one holding the last movement and the one after it.
  for (let i = 0; i < 3; i++) {
    const dayStart = w.start - p.window.fromMin * 60_000;
    const quiet = p.quietWindows
      .map((q) => [dayStart + q.fromMin * 60_000, dayStart + q.toMin * 60_000] as const)
      .sort((x, y) => x[0] - y[0]);
    let t = Math.max(ps.lastMoveAt, w.start);
    let acc = 0;
    const segments: [number, number][] = [];
    for (const [qa, qb] of quiet) {
      if (qb <= t || qa >= w.end) continue;
      if (qa > t) segments.push([t, qa]);
      t = Math.max(t, qb);
    }
    if (t < w.end) segments.push([t, w.end]);
    for (const [sa, sb] of segments) {
      if (acc + (sb - sa) > needMs || (acc + (sb - sa) === needMs && sb < w.end)) return sa + (needMs - acc);
      acc += sb - sa;
    }
    w = wakingWindowAtOrAfter(p.window, w.end, opts.utcOffsetMinutes);
  }
  return null;
}

function isSilent(p: CompiledPerson, ps: PersonState, opts: ResolvedElderCareOptions, now: number): boolean {
  return now - ps.lastHeardAt > silenceAfterMs(p, ps, opts);
}

/** Time-driven rules: silence (tiered), no movement (tiered), and clearing quiet fall/SOS alerts. */
export function elderTick(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  now: number,
  out: AlertOutput[],
): void {
  const silentFor = now - ps.lastHeardAt;
  const silentKey = alertKey('elder.device_silent', p.id);
  if (!book[silentKey] && silentFor > silenceAfterMs(p, ps, opts)) {
    const msg: ElderText = { kind: 'device_silent', durationMs: silentFor };
    out.push(
      raiseAlert(book, spec(p, ps, opts, 'device_silent', msg, silentFor), ps.lastHeardAt, now, now, 1)
        .output,
    );
  }
  const aloneKey = alertKey('elder.silent_alone', p.id);
  if (p.livesAlone && !book[aloneKey] && silentFor > silentAloneAfterMs(p, ps, opts)) {
    const msg: ElderText = { kind: 'silent_alone', durationMs: silentFor };
    out.push(
      raiseAlert(book, spec(p, ps, opts, 'silent_alone', msg, silentFor), ps.lastHeardAt, now, now, 1).output,
    );
  }
  // A silent band says nothing about movement: the silence alert names the cause.
  if (!isSilent(p, ps, opts, now)) {
    const warnKey = alertKey('elder.no_movement', p.id);
    if (!book[warnKey]) {
      const due = noMovementDue(p, ps, opts, now, opts.noMovementMs);
      if (due !== null && due <= now) {
        const msg: ElderText = { kind: 'no_movement', durationMs: now - ps.lastMoveAt };
        out.push(raiseAlert(book, spec(p, ps, opts, 'no_movement', msg), ps.lastMoveAt, now, now, 1).output);
      }
    }
    const critKey = alertKey('elder.no_movement_critical', p.id);
    if (book[warnKey] && !book[critKey]) {
      const due = noMovementDue(p, ps, opts, now, opts.noMovementCriticalMs);
      const notWorn = book[alertKey('elder.not_worn', p.id)] !== undefined;
      if (notWorn || (due !== null && due <= now)) {
        const msg: ElderText = { kind: 'no_movement_critical', durationMs: now - ps.lastMoveAt };
        out.push(
          raiseAlert(book, spec(p, ps, opts, 'no_movement_critical', msg), ps.lastMoveAt, now, now, 1).output,
        );
      }
    }
  }
  for (const type of ['fall', 'sos'] as const) {
    const at = ps.lastEventAt[type];
    if (at !== undefined && now - at >= opts.eventQuietMs) {
      delete ps.lastEventAt[type];
      const o = clearAlert(book, alertKey(`elder.${type}`, p.id), now);
      if (o) out.push(o);
    }
  }
}

/** The earliest time elderTick would change something, or null. */
export function elderNextDeadline(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  now: number,
): number | null {
  let next: number | null = null;
  const consider = (t: number | null) => {
    if (t !== null && (next === null || t < next)) next = t;
  };
  // Strictly longer than the allowed silence: due one ms after it.
  if (!book[alertKey('elder.device_silent', p.id)])
    consider(ps.lastHeardAt + silenceAfterMs(p, ps, opts) + 1);
  if (p.livesAlone && !book[alertKey('elder.silent_alone', p.id)])
    consider(ps.lastHeardAt + silentAloneAfterMs(p, ps, opts) + 1);
  if (!isSilent(p, ps, opts, now)) {
    if (!book[alertKey('elder.no_movement', p.id)])
      consider(noMovementDue(p, ps, opts, now, opts.noMovementMs));
    else if (!book[alertKey('elder.no_movement_critical', p.id)]) {
      const notWorn = book[alertKey('elder.not_worn', p.id)] !== undefined;
      consider(notWorn ? now : noMovementDue(p, ps, opts, now, opts.noMovementCriticalMs));
    }
  }
  for (const type of ['fall', 'sos'] as const) {
    const at = ps.lastEventAt[type];
    if (at !== undefined) consider(at + opts.eventQuietMs);
  }
  return next;
}
