import type { Severity } from '@village/protocol';
import {
  type AlertBook,
  type AlertOutput,
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

/** A level rule on one metric, from config. */
export interface ThresholdRule {
  /** Stable id; part of every alert key this rule raises. */
  id: string;
  metric: string;
  /** Only devices of this village; omitted: any village. */
  village?: string;
  /** Only these devices; omitted: any device reporting the metric. */
  devices?: string[];
  /** 'above': raise when value > level, clear when value <= clearLevel (clearLevel <= level). 'below' mirrors it. */
  direction: 'above' | 'below';
  level: number;
  /** The clear level; the gap to `level` is the hysteresis band. Default: `level` (no band). */
  clearLevel?: number;
  /** The value must stay beyond `level` this long (ms, data time) before the alert is raised. Default 0. */
  holdMs?: number;
  /** The value must stay on the clear side this long (ms) before the alert clears. Default 0. */
  clearHoldMs?: number;
  /** Default 'warning'. 'critical' alerts open incidents. */
  severity?: Severity;
  /** Averaging period of the values it judges, shown in the alert text ('instant', '1h', '24h'). Default 'instant'. */
  averaging?: string;
}

export interface CompiledThreshold {
  id: string;
  metric: string;
  village?: string;
  devices?: Set<string>;
  above: boolean;
  level: number;
  clearLevel: number;
  holdMs: number;
  clearHoldMs: number;
  severity: Severity;
  averaging: string;
}

export function compileThreshold(rule: ThresholdRule, path: string): CompiledThreshold {
  const fail = (field: string, msg: string, v: unknown): never => {
    throw new RulesError('bad_config', `${path}.${field}`, msg, v);
  };
  if (typeof rule.id !== 'string' || rule.id === '') fail('id', 'must be a non-empty string', rule.id);
  if (typeof rule.metric !== 'string' || rule.metric === '')
    fail('metric', 'must be a non-empty string', rule.metric);
  if (rule.direction !== 'above' && rule.direction !== 'below')
    fail('direction', "must be 'above' or 'below'", rule.direction);
  if (!Number.isFinite(rule.level)) fail('level', 'must be a finite number', rule.level);
  const clearLevel = rule.clearLevel ?? rule.level;
  if (!Number.isFinite(clearLevel)) fail('clearLevel', 'must be a finite number', rule.clearLevel);
  const above = rule.direction === 'above';
  if (above ? clearLevel > rule.level : clearLevel < rule.level) {
    fail('clearLevel', `must be on the safe side of level ${rule.level}`, clearLevel);
  }
  const holdMs = rule.holdMs ?? 0;
  const clearHoldMs = rule.clearHoldMs ?? 0;
  if (!(holdMs >= 0) || !Number.isFinite(holdMs)) fail('holdMs', 'must be >= 0 ms', rule.holdMs);
  if (!(clearHoldMs >= 0) || !Number.isFinite(clearHoldMs))
    fail('clearHoldMs', 'must be >= 0 ms', rule.clearHoldMs);
  const severity = rule.severity ?? 'warning';
  if (!['info', 'warning', 'critical'].includes(severity)) fail('severity', 'unknown severity', severity);
  return {
    id: rule.id,
    metric: rule.metric,
    village: rule.village,
    devices: rule.devices ? new Set(rule.devices) : undefined,
    above,
    level: rule.level,
    clearLevel,
    holdMs,
    clearHoldMs,
    severity,
    averaging: rule.averaging ?? 'instant',
  };
}

export function appliesTo(rule: CompiledThreshold, device: string, village: string): boolean {
  return (!rule.village || rule.village === village) && (!rule.devices || rule.devices.has(device));
}

export function thresholdSignal(rule: CompiledThreshold, value: number): ConditionSignal {
  if (rule.above) return value > rule.level ? 'trigger' : value <= rule.clearLevel ? 'clear' : 'deadband';
  return value < rule.level ? 'trigger' : value >= rule.clearLevel ? 'clear' : 'deadband';
}

/** Condition state per alert key. */
export type ThresholdState = Record<string, HeldCondition>;

/** Feeds one numeric reading to one rule (mutates `conditions` and `book`), appending alert outputs. */
export function evaluateThreshold(
  rule: CompiledThreshold,
  conditions: ThresholdState,
  book: AlertBook,
  subject: AlertSubject & { device: string },
  value: number,
  ts: number,
  now: number,
  out: AlertOutput[],
  unit?: string,
): void {
  const key = alertKey(rule.id, subject.device);
  let c = conditions[key];
  const signal = thresholdSignal(rule, value);
  if (!c) {
    if (signal !== 'trigger') return;
    c = conditions[key] = idleCondition();
  }
  const t = advanceCondition(c, signal, ts, rule.holdMs, rule.clearHoldMs);
  if (t === 'raise') {
    const word = rule.above ? 'above' : 'below';
    const r = raiseAlert(
      book,
      {
        key,
        rule: rule.id,
        severity: rule.severity,
        subject,
        message: `${rule.metric} ${value}${unit ? ` ${unit}` : ''} (${rule.averaging}) ${word} ${rule.level}`,
        value,
        metric: rule.metric,
        text: {
          kind: 'threshold',
          device: subject.device,
          ...(subject.station ? { station: subject.station } : {}),
          metric: rule.metric,
          value,
          ...(unit ? { unit } : {}),
          averaging: rule.averaging,
          threshold: rule.level,
          direction: rule.above ? 'above' : 'below',
        },
      },
      c.since,
      ts,
      now,
      c.count,
    );
    out.push(r.output);
  } else if (t === 'repeat') {
    const o = repeatAlert(book, key, ts, value, c.count);
    if (o) out.push(o);
  } else if (t === 'clear') {
    const o = clearAlert(book, key, ts);
    if (o) out.push(o);
  }
  // An idle condition carries nothing worth persisting.
  if (c.phase === 'idle') delete conditions[key];
}
