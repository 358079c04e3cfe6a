import {
  type AqiResult,
  type Concentrations,
  type WaterClassResult,
  computeAqi,
  waterClass,
} from '@village/rules';
import type { Latest } from './api-types.js';

/**
 * AQI and water class of a station from its latest values, with the rules package's own pure
 * functions (HJ 633 breakpoints, GB 3838-2002 limits) bundled into the page, so the screen and the
 * alerting agree to the point. The latest PM values stand in for the 24 h items, as the national
 * real-time platform does for hourly reports (docs/rules.md).
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

export function stationAqi(latest: readonly Latest[]): AqiResult | undefined {
  const c: Concentrations = {};
  let newest = 0;
  for (const l of latest) {
    const item = AQI_METRICS[l.metric];
    if (!item || typeof l.value !== 'number' || l.quality === 'bad') continue;
    c[item] = l.value;
    newest = Math.max(newest, l.ts);
  }
  if (newest === 0) return undefined;
  try {
    return computeAqi(c, { at: newest });
  } catch {
    return undefined;
  }
}

export function stationWaterClass(latest: readonly Latest[]): WaterClassResult | undefined {
  const sample: Record<string, number> = {};
  for (const l of latest) {
    const p = WATER_METRICS[l.metric];
    if (p && typeof l.value === 'number' && l.quality !== 'bad') sample[p] = l.value;
  }
  if (Object.keys(sample).length === 0) return undefined;
  try {
    const r = waterClass(sample as Parameters<typeof waterClass>[0]);
    return r.class === null ? undefined : r;
  } catch {
    return undefined;
  }
}
