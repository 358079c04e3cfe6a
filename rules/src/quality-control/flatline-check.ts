import type { QcReason } from './data-flag.js';
import type { TimedValue } from './spike-check.js';

/** `count` identical values (within `tolerance`) spanning at least `minMs` is a flatline. */
export interface FlatlineLimit {
  count: number;
  minMs: number;
  tolerance?: number;
}

/** The run of identical values a series is in: its value, when it began, how many so far. */
export interface FlatRun {
  value: number;
  start: number;
  count: number;
}

/**
 * Advance the run with one value and judge it. A stuck sensor repeats its last value; once the
 * run is long enough in both count and time, this value and every further identical one are
 * flagged (earlier ones had already passed when they came). Any change ends the run.
 */
export function advanceFlatline(
  run: FlatRun | undefined,
  cur: TimedValue,
  limit: FlatlineLimit,
): { run: FlatRun; reason: QcReason | null } {
  const tol = limit.tolerance ?? 0;
  const next: FlatRun =
    run && Math.abs(cur.value - run.value) <= tol && cur.ts >= run.start
      ? { value: run.value, start: run.start, count: run.count + 1 }
      : { value: cur.value, start: cur.ts, count: 1 };
  const span = cur.ts - next.start;
  if (next.count >= limit.count && span >= limit.minMs) {
    return {
      run: next,
      reason: { code: 'flatline', detail: `${next.count} identical values (${next.value}) over ${span} ms` },
    };
  }
  return { run: next, reason: null };
}
