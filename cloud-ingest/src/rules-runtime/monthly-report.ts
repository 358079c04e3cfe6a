import {
  HOUR_MS,
  type WaterBody,
  type WaterObservation,
  type WaterParameter,
  type WaterPeriodResult,
  waterPeriodClass,
} from '@village/rules';
import type { Sink } from '../sink/sink.js';
import type { AqiPublisher } from './hourly-aqi-publisher.js';
import type { QualityFlags } from './quality-flags.js';

/** Device metric names → GB 3838 parameters (as the dashboard reads them). */
const WATER_METRICS: Record<string, WaterParameter> = {
  ph: 'pH',
  dissolved_oxygen: 'DO',
  do: 'DO',
  codmn: 'CODMn',
  cod: 'COD',
  bod5: 'BOD5',
  nh3_n: 'NH3-N',
  tp: 'TP',
  tn: 'TN',
};
const OFFSET_MS = 8 * HOUR_MS;

/** A station's month (docs/rules.md "Monthly station report"). */
export interface MonthlyReport {
  station: string;
  stationName: string;
  village: string | null;
  /** 'YYYY-MM', local (UTC+8) month. */
  month: string;
  from: number;
  to: number;
  /** Natural days of the month so far (to `now`). */
  days: number;
  /** Days at each AQI level 1–6, and days without a valid daily AQI. */
  daysByLevel: Record<'1' | '2' | '3' | '4' | '5' | '6', number>;
  daysWithoutAqi: number;
  /** AQI ≤ 100 (优 and 良): the days meeting the standard (达标天数), and their share of days with an AQI. */
  daysMeetingStandard: number;
  shareMeetingStandard: number | null;
  /** Days each pollutant was primary (a tie counts for each). */
  primaryPollutants: Record<string, number>;
  /** Hours of the month so far with a published hourly AQI, out of the hours elapsed. */
  hoursWithAqi: number;
  hours: number;
  captureRate: number | null;
  /** Pollutant readings received, and how many of them quality control left out. */
  airReadings: number;
  airReadingsFlagged: number;
  /** Every flagged reading of the station in the month, by data flag. */
  flaggedByFlag: Record<string, number>;
  /** The month's water class from the means of its N readings; null without a water probe. */
  water:
    | (Pick<WaterPeriodResult, 'class' | 'className' | 'label' | 'means' | 'counts'> & { body: WaterBody })
    | null;
}

export class ReportError extends Error {
  override readonly name = 'ReportError';
  constructor(
    readonly code: 'bad_month',
    message: string,
  ) {
    super(message);
  }
}

/** [from, to) of a local (UTC+8) month 'YYYY-MM'. */
export function monthRange(month: string): { from: number; to: number } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new ReportError('bad_month', `month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return { from: Date.UTC(y, mo, 1) - OFFSET_MS, to: Date.UTC(y, mo + 1, 1) - OFFSET_MS };
}

/**
 * Builds a station's monthly report from what the cloud published and flagged: the daily AQI rows
 * (levels, days meeting the standard, primary pollutants), the hourly rows (data capture), the
 * AQI samples (readings flagged), the quality flags (by flag), and the water probe's readings in
 * the sink less those flagged (the month's water class, by the 2011 evaluation method's means).
 */
export async function buildMonthlyReport(deps: {
  station: { id: string; name: string; village: string | null; waterBody: WaterBody };
  month: string;
  now: number;
  publisher: AqiPublisher;
  quality?: QualityFlags;
  sink?: Sink;
}): Promise<MonthlyReport> {
  const { station, publisher } = deps;
  const { from, to } = monthRange(deps.month);
  const until = Math.min(to, Math.max(from, deps.now));
  const daily = await publisher.list({
    kind: 'daily',
    station: station.id,
    villages: 'all',
    from,
    to,
    limit: 40,
  });
  const hourly = await publisher.list({
    kind: 'hourly',
    station: station.id,
    villages: 'all',
    from,
    to,
    limit: 800,
  });
  const days = Math.ceil((until - from) / (24 * HOUR_MS));
  const daysByLevel = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0, '6': 0 };
  const primaryPollutants: Record<string, number> = {};
  let withAqi = 0;
  for (const d of daily) {
    if (d.aqi === null || d.level === null) continue;
    withAqi++;
    daysByLevel[String(d.level) as keyof typeof daysByLevel]++;
    for (const p of d.primary) primaryPollutants[p] = (primaryPollutants[p] ?? 0) + 1;
  }
  const meeting = daysByLevel['1'] + daysByLevel['2'];
  const hours = Math.ceil((until - from) / HOUR_MS);
  const hoursWithAqi = hourly.filter((h) => h.aqi !== null && h.start < until).length;
  const counts = await publisher.sampleCounts(station.id, from, to);
  const flaggedByFlag: Record<string, number> = {};
  const flagged =
    (await deps.quality?.flags({ station: station.id, from, to, notNormal: true, limit: 1_000_000 })) ?? [];
  for (const f of flagged) flaggedByFlag[f.flag] = (flaggedByFlag[f.flag] ?? 0) + 1;
  return {
    station: station.id,
    stationName: station.name,
    village: station.village,
    month: deps.month,
    from,
    to,
    days,
    daysByLevel,
    daysWithoutAqi: Math.max(0, days - withAqi),
    daysMeetingStandard: meeting,
    shareMeetingStandard: withAqi === 0 ? null : meeting / withAqi,
    primaryPollutants,
    hoursWithAqi,
    hours,
    captureRate: hours === 0 ? null : hoursWithAqi / hours,
    airReadings: counts.total,
    airReadingsFlagged: counts.flagged,
    flaggedByFlag,
    water: await waterOfMonth(deps, from, to, new Set(flagged.map((f) => `${f.device}|${f.metric}|${f.ts}`))),
  };
}

async function waterOfMonth(
  deps: Parameters<typeof buildMonthlyReport>[0],
  from: number,
  to: number,
  flagged: ReadonlySet<string>,
): Promise<MonthlyReport['water']> {
  const sink = deps.sink;
  if (!sink) return null;
  const observations: WaterObservation[] = [];
  for (const l of await sink.latest({ station: deps.station.id })) {
    const parameter = WATER_METRICS[l.metric];
    if (!parameter) continue;
    // One bucket per stored reading (1 ms), so each one can be told flagged or not.
    const buckets = (await sink.series({ device: l.device, metric: l.metric, from, to, stepMs: 1 })) ?? [];
    for (const b of buckets) {
      if (b.mean === null || flagged.has(`${l.device}|${l.metric}|${b.t}`)) continue;
      observations.push({ ts: b.t, sample: { [parameter]: b.mean } });
    }
  }
  if (observations.length === 0) return null;
  const r = waterPeriodClass(observations, deps.station.waterBody, { from, to });
  return {
    body: r.body,
    class: r.class,
    className: r.className,
    label: r.label,
    means: r.means,
    counts: r.counts,
  };
}
