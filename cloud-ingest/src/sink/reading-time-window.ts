import type { Reading } from '@village/protocol';

/**
 * Which reading times are believable (issue 14 "Time"): a reading stamped later than its receipt
 * plus the allowed clock skew (an edge whose clock jumped to 2096) or before the floor (a clock
 * that reset to 1970, an RTC battery gone) is stored, with quality `suspect`, but never becomes
 * the `latest` value of its series, which would otherwise stay pinned above every later reading.
 */
export interface TimeWindow {
  /** How far past the cloud's clock a reading may be dated, ms (cloud.yaml ingest.maxClockSkewMs). */
  maxSkewMs: number;
  /** Earliest believable reading time, ms epoch (cloud.yaml ingest.minTimestamp). */
  floorMs: number;
}

/** 5 minutes of skew; nothing before 2020-01-01. */
export const DEFAULT_TIME_WINDOW: TimeWindow = {
  maxSkewMs: 5 * 60_000,
  floorMs: Date.UTC(2020, 0, 1),
};

/** The reading times that may be `latest` when judged at `now` (inclusive bounds). */
export function latestRange(w: TimeWindow, now: number): { from: number; to: number } {
  return { from: w.floorMs, to: now + w.maxSkewMs };
}

/**
 * The readings with a time outside `range` marked `suspect` (the others as they are); the same
 * array when none is, so the common case allocates nothing.
 */
export function markSuspectTimes(
  readings: readonly Reading[],
  range: { from: number; to: number },
): { readings: readonly Reading[]; suspect: number } {
  let out: Reading[] | undefined;
  let suspect = 0;
  readings.forEach((r, i) => {
    if (r.ts >= range.from && r.ts <= range.to) return;
    suspect++;
    out ??= readings.slice();
    if (r.quality !== 'bad') out[i] = { ...r, quality: 'suspect' };
  });
  return { readings: out ?? readings, suspect };
}

/** True when a reading dated `ts`, received at `receivedAt`, is outside the believable window. */
export function isSuspectTime(w: TimeWindow, ts: number, receivedAt: number): boolean {
  return ts < w.floorMs || ts > receivedAt + w.maxSkewMs;
}
