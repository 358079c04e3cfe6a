import type { Reading } from '@village/protocol';
import type { SinkBatch } from './sink.js';

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

/** The window of cloud.yaml's `ingest:` section. */
export function timeWindowOf(ingest: { maxClockSkewMs: number; minTimestamp: string }): TimeWindow {
  return { maxSkewMs: ingest.maxClockSkewMs, floorMs: Date.parse(ingest.minTimestamp) };
}

/**
 * The batch as the committed feed passes it on (rules, live stream): without the readings outside
 * its believable window, which must neither move a rolling mean's window nor show as the newest
 * value on a dashboard. Stored all the same (as suspect). The same object when nothing is left out.
 */
export function believableOnly(batch: SinkBatch): SinkBatch {
  const range = batch.believable;
  if (range === undefined || batch.readings.every((r) => r.ts >= range.from && r.ts <= range.to))
    return batch;
  return { ...batch, readings: batch.readings.filter((r) => r.ts >= range.from && r.ts <= range.to) };
}

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
