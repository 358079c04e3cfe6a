import { RulesError } from './errors.js';

/**
 * Clock-hour means and 8-hour / 24-hour moving means of one series, with the data-validity
 * rules of GB 3095-2012 table 4 (as applied by HJ 633): an hourly mean needs at least 45 minutes
 * of data, an 8-hour mean at least 6 valid hourly means, a 24-hour mean at least 20.
 *
 * Memory per series is bounded: at most 25 hour buckets (the 24 hours a 24-hour mean needs plus
 * the hour in progress), each with one bit per sample slot.
 */
export interface RollingMeanOptions {
  /** Nominal reporting interval of the series, ms; each reading covers one slot of this length. Default 60 000. */
  sampleIntervalMs?: number;
  /** Slots with data needed for a valid hourly mean. Default: 45 minutes' worth, ceil(2 700 000 / interval). */
  minSlotsPerHour?: number;
  /** Valid hourly means needed for an 8-hour mean. Default 6. */
  minHoursFor8h?: number;
  /** Valid hourly means needed for a 24-hour mean. Default 20. */
  minHoursFor24h?: number;
}

export const HOUR_MS = 3_600_000;
const KEEP_HOURS = 25;

export interface HourBucket {
  /** Start of the clock hour, ms epoch (China's UTC+8 keeps whole hours aligned with UTC's). */
  hour: number;
  sum: number;
  count: number;
  /** Bit set of sample slots that have data, 32 slots per word. */
  slots: number[];
  /**
   * Offsets (ms from `hour`) of the samples held, ascending: a replayed sample (same series and
   * time, e.g. the rules journal re-fed after a crash) is recognised and not counted twice.
   * Absent in state persisted before it existed; such a bucket starts remembering from now.
   */
  times?: number[];
}

export interface RollingMeanState {
  /** Ascending by hour. */
  buckets: HourBucket[];
  /** Readings dropped because they fell before the kept window. */
  tooOld: number;
}

export type MeanResult =
  | { valid: true; value: number; samples: number; from: number; to: number }
  | { valid: false; reason: string; samples: number; from: number; to: number };

export interface RollingMeans {
  '1h': MeanResult;
  '8h': MeanResult;
  '24h': MeanResult;
}

export interface ResolvedRollingMeanOptions {
  interval: number;
  minSlots: number;
  min8: number;
  min24: number;
}

export function resolveRollingMeanOptions(o: RollingMeanOptions = {}): ResolvedRollingMeanOptions {
  const interval = o.sampleIntervalMs ?? 60_000;
  if (!Number.isInteger(interval) || interval <= 0 || interval > HOUR_MS) {
    throw new RulesError('bad_config', 'sampleIntervalMs', 'must be an integer in 1..3600000 ms', interval);
  }
  const slotsPerHour = Math.ceil(HOUR_MS / interval);
  const minSlots = o.minSlotsPerHour ?? Math.ceil((45 * 60_000) / interval);
  const min8 = o.minHoursFor8h ?? 6;
  const min24 = o.minHoursFor24h ?? 20;
  check(minSlots, 1, slotsPerHour, 'minSlotsPerHour');
  check(min8, 1, 8, 'minHoursFor8h');
  check(min24, 1, 24, 'minHoursFor24h');
  return { interval, minSlots, min8, min24 };
}

function check(v: number, lo: number, hi: number, path: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RulesError('bad_config', path, `must be an integer in ${lo}..${hi}`, v);
  }
}

export function createRollingMean(): RollingMeanState {
  return { buckets: [], tooOld: 0 };
}

/**
 * Adds one sample (mutates `state`). Returns 'too-old' when the sample falls before the kept
 * 25-hour window of the newest data, so it cannot change any mean that can still be asked for,
 * and 'duplicate' (nothing changed) when the series already holds a sample at `ts`.
 */
export function addSample(
  state: RollingMeanState,
  options: ResolvedRollingMeanOptions,
  ts: number,
  value: number,
): 'added' | 'too-old' | 'duplicate' {
  if (!Number.isFinite(value)) throw new RulesError('bad_value', 'value', 'must be a finite number', value);
  if (!Number.isFinite(ts)) throw new RulesError('bad_value', 'ts', 'must be a finite ms epoch', ts);
  const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
  const b = state.buckets;
  const newest = b.length ? b[b.length - 1].hour : hour;
  if (hour <= newest - KEEP_HOURS * HOUR_MS) {
    state.tooOld++;
    return 'too-old';
  }
  let i = b.length - 1;
  while (i >= 0 && b[i].hour > hour) i--;
  let bucket: HourBucket;
  if (i >= 0 && b[i].hour === hour) {
    bucket = b[i];
  } else {
    bucket = { hour, sum: 0, count: 0, slots: [], times: [] };
    b.splice(i + 1, 0, bucket);
    const cutoff = b[b.length - 1].hour - KEEP_HOURS * HOUR_MS;
    while (b.length && b[0].hour <= cutoff) b.shift();
  }
  bucket.times ??= [];
  const times = bucket.times;
  const offset = ts - hour;
  const at = insertionIndex(times, offset);
  if (times[at] === offset) return 'duplicate';
  times.splice(at, 0, offset);
  bucket.sum += value;
  bucket.count++;
  const slot = Math.floor((ts - hour) / options.interval);
  const w = slot >> 5;
  while (bucket.slots.length <= w) bucket.slots.push(0);
  bucket.slots[w] |= 1 << (slot & 31);
  return 'added';
}

/** First index of `sorted` whose value is >= x (binary search). */
function insertionIndex(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

/** Mean of the clock hour starting at `hour`. */
export function hourlyMean(
  state: RollingMeanState,
  options: ResolvedRollingMeanOptions,
  hour: number,
): MeanResult {
  const to = hour + HOUR_MS;
  const bucket = state.buckets.find((x) => x.hour === hour);
  if (!bucket) return { valid: false, reason: 'no data in the hour', samples: 0, from: hour, to };
  let covered = 0;
  for (const w of bucket.slots) covered += popcount(w);
  if (covered < options.minSlots) {
    return {
      valid: false,
      reason: `data covers ${covered} of the ${options.minSlots} slots of ${options.interval} ms needed`,
      samples: bucket.count,
      from: hour,
      to,
    };
  }
  return { valid: true, value: bucket.sum / bucket.count, samples: bucket.count, from: hour, to };
}

function movingMean(
  state: RollingMeanState,
  options: ResolvedRollingMeanOptions,
  end: number,
  hours: number,
  minHours: number,
): MeanResult {
  const from = end - hours * HOUR_MS;
  let sum = 0;
  let n = 0;
  for (let h = from; h < end; h += HOUR_MS) {
    const m = hourlyMean(state, options, h);
    if (m.valid) {
      sum += m.value;
      n++;
    }
  }
  if (n < minHours) {
    return {
      valid: false,
      reason: `${n} valid hourly means of the ${minHours} needed`,
      samples: n,
      from,
      to: end,
    };
  }
  return { valid: true, value: sum / n, samples: n, from, to: end };
}

/**
 * Means of the complete clock hours before `now`: the last hour, the last 8 (moving 8-hour
 * mean, as used for O3) and the last 24 (moving 24-hour mean; at local midnight it is the daily mean).
 */
export function rollingMeans(
  state: RollingMeanState,
  options: ResolvedRollingMeanOptions,
  now: number,
): RollingMeans {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS;
  return {
    '1h': hourlyMean(state, options, end - HOUR_MS),
    '8h': movingMean(state, options, end, 8, options.min8),
    '24h': movingMean(state, options, end, 24, options.min24),
  };
}
