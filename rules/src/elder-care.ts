import type { Severity, Value } from '@village/protocol';
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
}

export type ElderRule =
  | 'fall'
  | 'sos'
  | 'heart_rate'
  | 'spo2'
  | 'no_movement'
  | 'not_worn'
  | 'battery_low'
  | 'device_silent';

export interface ElderCareOptions {
  /** Heart rate or SpO2 must stay outside the range this long before alerting, ms (data time). Default 300 000. */
  vitalsHoldMs?: number;
  /** Heart rate clears once this far back inside the range, bpm. Default 3. */
  heartRateClearMarginBpm?: number;
  /** SpO2 clears once this far above its minimum, %. Default 1. */
  spo2ClearMarginPct?: number;
  /** No step increase for this long during waking hours alerts, for people living alone, ms. Default 10 800 000 (3 h). */
  noMovementMs?: number;
  /** Wristband reported not worn for this long during waking hours alerts, ms. Default 900 000. */
  notWornHoldMs?: number;
  /** Battery at or below this alerts, %. Default 20. */
  batteryLowPct?: number;
  /** Battery at or above this clears, %. Default 30. */
  batteryClearPct?: number;
  /** The wristband's nominal reporting interval, ms. Default 60 000. */
  reportIntervalMs?: number;
  /** Silent for longer than reportIntervalMs × silenceFactor alerts. Default 3. */
  silenceFactor?: number;
  /** A fall/SOS alert clears after this long without another, ms (receipt time). Default 1 800 000. */
  eventQuietMs?: number;
  /** Local time zone for waking hours, minutes east of UTC. Default 480 (China Standard Time). */
  utcOffsetMinutes?: number;
  /** Per-rule severity; defaults: fall, sos, heart_rate, spo2, no_movement critical; the rest warning. */
  severity?: Partial<Record<ElderRule, Severity>>;
}

export interface CompiledPerson extends Person {
  window: CompiledWindow;
}

export interface ResolvedElderCareOptions {
  vitalsHoldMs: number;
  hrMargin: number;
  spo2Margin: number;
  noMovementMs: number;
  notWornHoldMs: number;
  batteryLowPct: number;
  batteryClearPct: number;
  silenceAfterMs: number;
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
    notWornHoldMs: o.notWornHoldMs ?? 900_000,
    batteryLowPct: o.batteryLowPct ?? 20,
    batteryClearPct: o.batteryClearPct ?? 30,
    silenceAfterMs: (o.reportIntervalMs ?? 60_000) * (o.silenceFactor ?? 3),
    eventQuietMs: o.eventQuietMs ?? 1_800_000,
    utcOffsetMinutes: o.utcOffsetMinutes ?? 480,
    severity: {
      fall: 'critical',
      sos: 'critical',
      heart_rate: 'critical',
      spo2: 'critical',
      no_movement: 'critical',
      not_worn: 'warning',
      battery_low: 'warning',
      device_silent: 'warning',
      ...o.severity,
    },
  };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'number' && (!Number.isFinite(v) || (v < 0 && k !== 'utcOffsetMinutes'))) {
      throw new RulesError('bad_config', `elderCare.${k}`, 'must be a finite number >= 0', v);
    }
  }
  if (r.silenceAfterMs <= 0)
    throw new RulesError('bad_config', 'elderCare.reportIntervalMs', 'must be > 0', r.silenceAfterMs);
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
  return { ...p, livesAlone: p.livesAlone === true, window: compileWakingHours(p.waking, `${path}.waking`) };
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

function spec(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  rule: ElderRule,
  message: string,
  value?: Value,
): AlertSpec {
  return {
    key: alertKey(`elder.${rule}`, p.id),
    rule: `elder.${rule}`,
    severity: opts.severity[rule],
    subject: subject(p),
    message,
    value,
    position: ps.position ?? undefined,
  };
}

function runCondition(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  rule: 'heart_rate' | 'spo2' | 'not_worn' | 'battery_low',
  signal: ConditionSignal,
  holdMs: number,
  message: string,
  value: Value,
  ts: number,
  now: number,
  out: AlertOutput[],
): void {
  let c = ps.conditions[rule];
  if (!c) {
    if (signal !== 'trigger') return;
    c = ps.conditions[rule] = idleCondition();
  }
  const t = advanceCondition(c, signal, ts, holdMs, 0);
  const key = alertKey(`elder.${rule}`, p.id);
  if (t === 'raise')
    out.push(raiseAlert(book, spec(p, ps, opts, rule, message, value), c.since, ts, now, c.count).output);
  else if (t === 'repeat') {
    const o = repeatAlert(book, key, ts, value, c.count);
    if (o) out.push(o);
  } else if (t === 'clear') {
    const o = clearAlert(book, key, ts);
    if (o) out.push(o);
  }
  if (c.phase === 'idle') delete ps.conditions[rule];
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
): 'ok' | 'wrong_type' | 'other' {
  ps.lastHeardAt = Math.max(ps.lastHeardAt, now);
  const silent = clearAlert(book, alertKey('elder.device_silent', p.id), now);
  if (silent) out.push(silent);
  if (metric === 'worn') {
    if (typeof value !== 'boolean') return 'wrong_type';
    const signal: ConditionSignal = value
      ? 'clear'
      : isWaking(p.window, ts, opts.utcOffsetMinutes)
        ? 'trigger'
        : 'deadband';
    runCondition(
      p,
      ps,
      opts,
      book,
      'not_worn',
      signal,
      opts.notWornHoldMs,
      'wristband not worn',
      value,
      ts,
      now,
      out,
    );
    return 'ok';
  }
  if (!WRISTBAND_NUMERIC.has(metric)) return 'other';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'wrong_type';
  switch (metric) {
    case 'heart_rate': {
      const { min, max } = p.heartRate;
      const signal: ConditionSignal =
        value < min || value > max
          ? 'trigger'
          : value >= min + opts.hrMargin && value <= max - opts.hrMargin
            ? 'clear'
            : 'deadband';
      const msg = `heart rate ${value} bpm outside ${min}–${max}`;
      runCondition(p, ps, opts, book, 'heart_rate', signal, opts.vitalsHoldMs, msg, value, ts, now, out);
      return 'ok';
    }
    case 'spo2': {
      const min = p.spo2.min;
      const signal: ConditionSignal =
        value < min ? 'trigger' : value >= min + opts.spo2Margin ? 'clear' : 'deadband';
      runCondition(
        p,
        ps,
        opts,
        book,
        'spo2',
        signal,
        opts.vitalsHoldMs,
        `SpO2 ${value}% below ${min}%`,
        value,
        ts,
        now,
        out,
      );
      return 'ok';
    }
    case 'battery': {
      const signal: ConditionSignal =
        value <= opts.batteryLowPct ? 'trigger' : value >= opts.batteryClearPct ? 'clear' : 'deadband';
      runCondition(
        p,
        ps,
        opts,
        book,
        'battery_low',
        signal,
        0,
        `wristband battery ${value}%`,
        value,
        ts,
        now,
        out,
      );
      return 'ok';
    }
    case 'steps': {
      // Steps are cumulative; a drop is the daily counter resetting, not movement.
      if (ps.lastSteps !== null && value > ps.lastSteps) {
        ps.lastMoveAt = Math.max(ps.lastMoveAt, ts);
        const o = clearAlert(book, alertKey('elder.no_movement', p.id), ts);
        if (o) out.push(o);
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
  ps.lastHeardAt = Math.max(ps.lastHeardAt, now);
  if (type !== 'fall' && type !== 'sos') return false;
  ps.lastEventAt[type] = now;
  const key = alertKey(`elder.${type}`, p.id);
  if (book[key]) {
    const o = repeatAlert(book, key, ts);
    if (o) out.push(o);
  } else {
    const msg = type === 'fall' ? `fall detected for ${p.id}` : `SOS pressed by ${p.id}`;
    out.push(raiseAlert(book, spec(p, ps, opts, type, msg), ts, ts, now, 1).output);
  }
  return true;
}

/** When the no-movement alert would be due, or null when it cannot be. */
function noMovementDue(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  now: number,
): number | null {
  if (!p.livesAlone) return null;
  let w = wakingWindowAtOrAfter(p.window, Math.min(now, ps.lastMoveAt), opts.utcOffsetMinutes);
  // Two windows cover every case: the one holding the last movement and the one after it.
  for (let i = 0; i < 3; i++) {
    const due = Math.max(ps.lastMoveAt, w.start) + opts.noMovementMs;
    if (due < w.end && due >= w.start) return due;
    w = wakingWindowAtOrAfter(p.window, w.end, opts.utcOffsetMinutes);
  }
  return null;
}

/** Time-driven rules: silence, no movement, and clearing quiet fall/SOS alerts. */
export function elderTick(
  p: CompiledPerson,
  ps: PersonState,
  opts: ResolvedElderCareOptions,
  book: AlertBook,
  now: number,
  out: AlertOutput[],
): void {
  const silentKey = alertKey('elder.device_silent', p.id);
  if (!book[silentKey] && now - ps.lastHeardAt > opts.silenceAfterMs) {
    const msg = `wristband ${p.device} silent for ${now - ps.lastHeardAt} ms`;
    out.push(raiseAlert(book, spec(p, ps, opts, 'device_silent', msg), ps.lastHeardAt, now, now, 1).output);
  }
  const moveKey = alertKey('elder.no_movement', p.id);
  if (!book[moveKey]) {
    const due = noMovementDue(p, ps, opts, now);
    if (due !== null && due <= now) {
      const msg = `no movement since ${ps.lastMoveAt} during waking hours`;
      out.push(raiseAlert(book, spec(p, ps, opts, 'no_movement', msg), ps.lastMoveAt, now, now, 1).output);
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
  if (!book[alertKey('elder.device_silent', p.id)]) consider(ps.lastHeardAt + opts.silenceAfterMs + 1);
  if (!book[alertKey('elder.no_movement', p.id)]) consider(noMovementDue(p, ps, opts, now));
  for (const type of ['fall', 'sos'] as const) {
    const at = ps.lastEventAt[type];
    if (at !== undefined) consider(at + opts.eventQuietMs);
  }
  return next;
}
