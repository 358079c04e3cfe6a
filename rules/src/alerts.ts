import type { Severity, Value } from '@village/protocol';
import type { AlertText } from './alert-text.js';

/** Whom or what an alert is about. `village` is the place incidents correlate and escalate by. */
export interface AlertSubject {
  village: string;
  station?: string;
  device?: string;
  person?: string;
}

/**
 * One alert, alive from raise to clear. `key` (rule id + subject) is stable, so a condition
 * that keeps triggering increments `count` instead of raising a new alert.
 */
export interface Alert {
  key: string;
  rule: string;
  severity: Severity;
  subject: AlertSubject;
  message: string;
  /** Data time of the first trigger of this episode. */
  since: number;
  /** When the cloud raised it (the `now` of the step that raised it). */
  raisedAt: number;
  /** Data time of the latest trigger. */
  lastAt: number;
  count: number;
  value?: Value;
  /** The metric judged, for level rules (an environmental alert's pollutant). */
  metric?: string;
  /** What it says, as fields (kind, subject, metric, value, unit, averaging, threshold, duration). */
  text?: AlertText;
  /** Last known position of the subject, when it has one (wristband lat/lon). */
  position?: { lat: number; lon: number };
}

export type AlertOutput =
  | { type: 'alert-raised'; alert: Alert }
  | { type: 'alert-repeated'; key: string; count: number; at: number; value?: Value }
  | { type: 'alert-cleared'; key: string; at: number; alert: Alert };

/** Active alerts by key. */
export type AlertBook = Record<string, Alert>;

export function alertKey(rule: string, subjectId: string): string {
  return `${rule}|${subjectId}`;
}

export interface AlertSpec {
  key: string;
  rule: string;
  severity: Severity;
  subject: AlertSubject;
  message: string;
  value?: Value;
  metric?: string;
  text?: AlertText;
  position?: { lat: number; lon: number };
}

/** Records a raise, or a repeat if the key is already active; returns the output and the live alert. */
export function raiseAlert(
  book: AlertBook,
  spec: AlertSpec,
  since: number,
  ts: number,
  now: number,
  count: number,
): { output: AlertOutput; alert: Alert; raised: boolean } {
  const existing = book[spec.key];
  if (existing) {
    existing.count = Math.max(existing.count + 1, count);
    existing.lastAt = ts;
    if (spec.value !== undefined) existing.value = spec.value;
    return {
      output: { type: 'alert-repeated', key: spec.key, count: existing.count, at: ts, value: spec.value },
      alert: existing,
      raised: false,
    };
  }
  const alert: Alert = {
    key: spec.key,
    rule: spec.rule,
    severity: spec.severity,
    subject: spec.subject,
    message: spec.message,
    since,
    raisedAt: now,
    lastAt: ts,
    count,
  };
  if (spec.value !== undefined) alert.value = spec.value;
  if (spec.metric !== undefined) alert.metric = spec.metric;
  if (spec.text !== undefined) alert.text = spec.text;
  if (spec.position !== undefined) alert.position = spec.position;
  book[spec.key] = alert;
  return { output: { type: 'alert-raised', alert: { ...alert } }, alert, raised: true };
}

/** Counts one more trigger of an active alert; `count`, when given, is the episode's trigger count. */
export function repeatAlert(
  book: AlertBook,
  key: string,
  ts: number,
  value?: Value,
  count?: number,
): AlertOutput | null {
  const a = book[key];
  if (!a) return null;
  a.count = count ?? a.count + 1;
  a.lastAt = ts;
  if (value !== undefined) a.value = value;
  return { type: 'alert-repeated', key, count: a.count, at: ts, value };
}

export function clearAlert(book: AlertBook, key: string, at: number): AlertOutput | null {
  const a = book[key];
  if (!a) return null;
  delete book[key];
  return { type: 'alert-cleared', key, at, alert: a };
}
