import type { AqiItem, Pollutant } from './aqi-tables.js';
import { type AqiResult, type Concentrations, computeAqi } from './aqi.js';
import { HOUR_MS } from './rolling-mean.js';

/**
 * The published AQI of one station, from its readings that quality control left `N`
 * (docs/rules.md "Published AQI"): clock-hour means with the GB 3095-2012 table 4 validity rules
 * on each sensor's own interval, 8-hour and 24-hour moving means, the hourly (real-time) AQI of
 * HJ 633 and the daily AQI of natural days. Pure: the caller gives the samples and the hour.
 */
export interface AqiSample {
  device: string;
  pollutant: Pollutant;
  ts: number;
  /** µg/m³; CO in mg/m³. */
  value: number;
}

export interface PublishedAqiOptions {
  /** A sensor's reporting interval, ms, when the caller knows it; otherwise learned from its samples. */
  intervalOf?(device: string, pollutant: Pollutant): number | undefined;
  /** Local time offset of natural days and clock hours, minutes. Default 480 (China, UTC+8). */
  utcOffsetMinutes?: number;
}

/** A mean and whether it meets the validity rule; `reason` says why not. */
export interface PublishedMean {
  value: number | null;
  valid: boolean;
  /** Samples (hourly mean) or valid hourly means (8 h, 24 h, day) it rests on. */
  n: number;
  reason?: string;
}

export interface PublishedAqi {
  kind: 'hourly' | 'daily';
  /** [start, end) of the hour or the natural day, ms epoch. */
  start: number;
  end: number;
  /** Means per pollutant and period, e.g. `{ 'PM2.5': { '1h': …, '24h': … } }`. */
  means: Partial<Record<Pollutant, Partial<Record<'1h' | '8h' | '24h' | 'max1h' | 'max8h', PublishedMean>>>>;
  /** What went into the AQI, per HJ 633 item. */
  concentrations: Concentrations;
  result: AqiResult;
}

const POLLUTANTS: readonly Pollutant[] = ['SO2', 'NO2', 'PM10', 'PM2.5', 'CO', 'O3'];
/** GB 3095-2012 table 4: an hourly mean needs 45 minutes of data; 8 h needs 6 hours, 24 h needs 20. */
const MIN_MINUTES_PER_HOUR = 45;
const MIN_HOURS_8H = 6;
const MIN_HOURS_24H = 20;
/** HJ 663-2013: the daily max 8-h O3 needs 14 valid 8-h means among those starting 00:00–16:00. */
const MIN_8H_MEANS_PER_DAY = 14;
const FALLBACK_INTERVAL_MS = 60_000;

/** The median gap between a sensor's consecutive samples: its reporting interval when none is configured. */
export function learnedInterval(times: readonly number[]): number | undefined {
  const t = [...new Set(times)].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < t.length; i++) gaps.push(t[i]! - t[i - 1]!);
  if (gaps.length === 0) return undefined;
  gaps.sort((a, b) => a - b);
  return Math.min(HOUR_MS, gaps[Math.floor(gaps.length / 2)]!);
}

type Index = Map<Pollutant, Map<string, AqiSample[]>>;

function indexOf(samples: readonly AqiSample[]): Index {
  const idx: Index = new Map();
  // A sample given twice (a replayed batch) counts once.
  const seen = new Set<string>();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    const key = `${s.device}|${s.pollutant}|${s.ts}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let byDevice = idx.get(s.pollutant);
    if (!byDevice) {
      byDevice = new Map();
      idx.set(s.pollutant, byDevice);
    }
    const list = byDevice.get(s.device) ?? [];
    list.push(s);
    byDevice.set(s.device, list);
  }
  return idx;
}

/**
 * A station's clock-hour mean of one pollutant: each sensor's samples in the hour must cover 45
 * minutes' worth of its interval slots; the station's mean is the mean of its sensors' valid means.
 */
function hourMean(
  idx: Index,
  pollutant: Pollutant,
  hour: number,
  options: PublishedAqiOptions,
): PublishedMean {
  const byDevice = idx.get(pollutant);
  const means: number[] = [];
  let reason = 'no data in the hour';
  let n = 0;
  for (const [device, all] of byDevice ?? []) {
    const inHour = all.filter((s) => s.ts >= hour && s.ts < hour + HOUR_MS);
    if (inHour.length === 0) continue;
    const interval =
      options.intervalOf?.(device, pollutant) ??
      learnedInterval(all.map((s) => s.ts)) ??
      FALLBACK_INTERVAL_MS;
    const slots = new Set(inHour.map((s) => Math.floor((s.ts - hour) / interval))).size;
    const needed = Math.ceil((MIN_MINUTES_PER_HOUR * 60_000) / interval);
    n += inHour.length;
    if (slots < needed) {
      reason = `${device}: data in ${slots} of the ${needed} slots of ${interval} ms needed (45 minutes)`;
      continue;
    }
    means.push(inHour.reduce((a, s) => a + s.value, 0) / inHour.length);
  }
  if (means.length === 0) return { value: null, valid: false, n, reason };
  return { value: means.reduce((a, b) => a + b, 0) / means.length, valid: true, n };
}

function movingMean(
  hourly: (h: number) => PublishedMean,
  end: number,
  hours: number,
  min: number,
): PublishedMean {
  let sum = 0;
  let n = 0;
  for (let h = end - hours * HOUR_MS; h < end; h += HOUR_MS) {
    const m = hourly(h);
    if (m.valid && m.value !== null) {
      sum += m.value;
      n++;
    }
  }
  if (n < min)
    return { value: null, valid: false, n, reason: `${n} valid hourly means of the ${min} needed` };
  return { value: sum / n, valid: true, n };
}

function memo(idx: Index, pollutant: Pollutant, options: PublishedAqiOptions) {
  const cache = new Map<number, PublishedMean>();
  return (h: number) => {
    let m = cache.get(h);
    if (!m) {
      m = hourMean(idx, pollutant, h, options);
      cache.set(h, m);
    }
    return m;
  };
}

/**
 * The hourly (real-time) AQI of the clock hour starting at `hour` (HJ 633-2012 5.2, as issue 16
 * reads it): SO2, NO2, CO and O3 1-hour means on their 1-hour rows, the O3 8-hour moving mean
 * ending with the hour, PM2.5 and PM10 hourly means on the 24-hour rows; the SO2 24-hour moving
 * mean is given too, for the standard's fallback above SO2 1 h 800. Give samples of the 24 hours
 * up to the hour's end.
 */
export function hourlyAqi(
  samples: readonly AqiSample[],
  hour: number,
  options: PublishedAqiOptions = {},
): PublishedAqi {
  const idx = indexOf(samples);
  const end = hour + HOUR_MS;
  const means: PublishedAqi['means'] = {};
  const c: Concentrations = {};
  const put = (item: AqiItem, m: PublishedMean) => {
    if (m.valid && m.value !== null) c[item] = m.value;
  };
  for (const p of POLLUTANTS) {
    if (!idx.has(p)) continue;
    const hourly = memo(idx, p, options);
    const h1 = hourly(hour);
    const m8 = movingMean(hourly, end, 8, MIN_HOURS_8H);
    const m24 = movingMean(hourly, end, 24, MIN_HOURS_24H);
    means[p] = { '1h': h1, '8h': m8, '24h': m24 };
    if (p === 'PM2.5') put('PM2.5_24h', h1);
    else if (p === 'PM10') put('PM10_24h', h1);
    else if (p === 'O3') {
      put('O3_1h', h1);
      put('O3_8h', m8);
    } else {
      put(`${p}_1h` as AqiItem, h1);
      if (p === 'SO2') put('SO2_24h', m24);
    }
  }
  // SO2_24h is there only for the fallback: on its own it is not part of the hourly report.
  const { SO2_24h, ...rest } = c;
  const forAqi: Concentrations = rest;
  if (SO2_24h !== undefined && rest.SO2_1h !== undefined && rest.SO2_1h > 800) forAqi.SO2_24h = SO2_24h;
  return {
    kind: 'hourly',
    start: hour,
    end,
    means,
    concentrations: forAqi,
    result: computeAqi(forAqi, { at: end - 1 }),
  };
}

/** Start of the natural (local) day containing `ts`. */
export function dayStart(ts: number, utcOffsetMinutes = 480): number {
  const off = utcOffsetMinutes * 60_000;
  return Math.floor((ts + off) / 86_400_000) * 86_400_000 - off;
}

/**
 * The daily AQI of the natural day starting at `day` (HJ 633-2012 5.1): 24-hour means of SO2,
 * NO2, PM10, PM2.5 and CO over the day's clock hours (20 valid hours needed), the O3 daily
 * maximum 1-hour mean and the daily maximum 8-hour moving mean (8-hour windows starting 00:00 to
 * 16:00 of the day, each with 6 valid hours; 14 such windows needed). Give the day's samples.
 */
export function dailyAqi(
  samples: readonly AqiSample[],
  day: number,
  options: PublishedAqiOptions = {},
): PublishedAqi {
  const idx = indexOf(samples);
  const end = day + 24 * HOUR_MS;
  const means: PublishedAqi['means'] = {};
  const c: Concentrations = {};
  for (const p of POLLUTANTS) {
    if (!idx.has(p)) continue;
    const hourly = memo(idx, p, options);
    if (p === 'O3') {
      let max1: number | null = null;
      let n1 = 0;
      for (let h = day; h < end; h += HOUR_MS) {
        const m = hourly(h);
        if (m.valid && m.value !== null) {
          n1++;
          if (max1 === null || m.value > max1) max1 = m.value;
        }
      }
      let max8: number | null = null;
      let n8 = 0;
      for (let s = day; s <= day + 16 * HOUR_MS; s += HOUR_MS) {
        const m = movingMean(hourly, s + 8 * HOUR_MS, 8, MIN_HOURS_8H);
        if (m.valid && m.value !== null) {
          n8++;
          if (max8 === null || m.value > max8) max8 = m.value;
        }
      }
      const m1: PublishedMean =
        max1 === null
          ? { value: null, valid: false, n: 0, reason: 'no valid hourly mean' }
          : { value: max1, valid: true, n: n1 };
      const m8: PublishedMean =
        n8 < MIN_8H_MEANS_PER_DAY || max8 === null
          ? {
              value: null,
              valid: false,
              n: n8,
              reason: `${n8} valid 8-hour means of the ${MIN_8H_MEANS_PER_DAY} needed`,
            }
          : { value: max8, valid: true, n: n8 };
      means.O3 = { max1h: m1, max8h: m8 };
      if (m1.valid) c.O3_1h = m1.value!;
      if (m8.valid) c.O3_8h = m8.value!;
      continue;
    }
    const m24 = movingMean(hourly, end, 24, MIN_HOURS_24H);
    means[p] = { '24h': m24 };
    if (m24.valid) c[`${p}_24h` as AqiItem] = m24.value!;
  }
  return { kind: 'daily', start: day, end, means, concentrations: c, result: computeAqi(c, { at: end - 1 }) };
}
