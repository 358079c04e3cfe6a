import type { QcReason } from './data-flag.js';

/** A change larger than `delta` within `withinMs` of the last accepted value is a spike. */
export interface SpikeLimit {
  delta: number;
  withinMs: number;
}

export interface TimedValue {
  value: number;
  ts: number;
}

/**
 * Rate of change against the last value that passed (not the last value seen), so the reading
 * after a spike is not flagged for coming back. After `withinMs` without an accepted value the
 * check starts afresh: a real step change is flagged for at most that long.
 */
export function checkSpike(
  cur: TimedValue,
  lastGood: TimedValue | undefined,
  limit: SpikeLimit,
): QcReason | null {
  if (!lastGood) return null;
  const dt = cur.ts - lastGood.ts;
  if (dt <= 0 || dt > limit.withinMs) return null;
  const change = Math.abs(cur.value - lastGood.value);
  if (change <= limit.delta) return null;
  return {
    code: 'spike',
    detail: `changed by ${round(change)} in ${dt} ms (limit ${limit.delta} within ${limit.withinMs} ms)`,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
