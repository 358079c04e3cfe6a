import type { Latest, Place } from '@village/protocol/api';
import {
  type AqiResult,
  type Concentrations,
  type WaterClassResult,
  computeAqi,
  waterClass,
} from '@village/rules';

/**
 * AQI and water class of a station from its latest values, with the rules package's own pure
 * functions (HJ 633 breakpoints, GB 3838-2002 limits) bundled into the page, so the screen and the
 * alerting agree to the point. The latest PM values stand in for the 24 h items, as the national
 * real-time platform does for hourly reports (docs/rules.md). Only readings the device marked
 * good and in the unit the breakpoints are in count: CO sent in µg/m³ is left out rather than
 * read as mg/m³ (which gave 500).
 */
const AQI_METRICS: Record<string, keyof Concentrations> = {
  pm2_5: 'PM2.5_24h',
  pm25: 'PM2.5_24h',
  pm10: 'PM10_24h',
  o3: 'O3_1h',
  no2: 'NO2_1h',
  so2: 'SO2_1h',
  co: 'CO_1h',
};
/** The units the HJ 633 rows are in, as devices spell them. */
const UG_M3 = ['µg/m³', 'μg/m³', 'ug/m3', 'ug/m³'];
const MG_M3 = ['mg/m³', 'mg/m3'];
const AQI_UNITS: Record<keyof Concentrations, readonly string[]> = {
  'PM2.5_24h': UG_M3,
  PM10_24h: UG_M3,
  O3_1h: UG_M3,
  O3_8h: UG_M3,
  NO2_1h: UG_M3,
  NO2_24h: UG_M3,
  SO2_1h: UG_M3,
  SO2_24h: UG_M3,
  CO_1h: MG_M3,
  CO_24h: MG_M3,
};
const WATER_METRICS: Record<string, string> = {
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

/** Older than this, the AQI is shown as stale (issue 16: two hours). */
export const AQI_STALE_AFTER_MS = 2 * 3_600_000;

export interface StationAqi extends AqiResult {
  /** Data time of the newest value it rests on. */
  asOf: number;
  /** True when that is more than `AQI_STALE_AFTER_MS` before `now`. */
  stale: boolean;
}

/**
 * A reference AQI from the station's latest raw values (not the published HJ 633 hourly AQI).
 * Values more than two hours older than the newest one are left out, so yesterday's NO2 is not
 * combined with this morning's PM.
 */
export function stationAqi(latest: readonly Latest[], now: number = Date.now()): StationAqi | undefined {
  const usable = latest.filter((l) => {
    const item = AQI_METRICS[l.metric];
    return item && typeof l.value === 'number' && l.quality === 'good' && AQI_UNITS[item].includes(l.unit);
  });
  const newest = Math.max(0, ...usable.map((l) => l.ts));
  if (newest === 0) return undefined;
  const c: Concentrations = {};
  for (const l of usable) {
    if (newest - l.ts > AQI_STALE_AFTER_MS) continue;
    c[AQI_METRICS[l.metric]!] = l.value as number;
  }
  try {
    return { ...computeAqi(c, { at: newest }), asOf: newest, stale: now - newest > AQI_STALE_AFTER_MS };
  } catch {
    return undefined;
  }
}

/**
 * The station's water class for its water body from the registry (`waterBody`; a station without
 * one is judged as a river, GB 3838's default). For a lake or reservoir TN is classed apart.
 */
export function stationWaterClass(
  latest: readonly Latest[],
  waterBody: Place['waterBody'] = null,
): WaterClassResult | undefined {
  const sample: Record<string, number> = {};
  for (const l of latest) {
    const p = WATER_METRICS[l.metric];
    if (p && typeof l.value === 'number' && l.quality === 'good') sample[p] = l.value;
  }
  if (Object.keys(sample).length === 0) return undefined;
  try {
    const r = waterClass(sample as Parameters<typeof waterClass>[0], waterBody ?? 'river');
    return r.class === null ? undefined : r;
  } catch {
    return undefined;
  }
}
