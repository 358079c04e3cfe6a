/**
 * Versioned breakpoint tables of China's Ambient Air Quality Index (HJ 633, table 1).
 * Concentrations in µg/m³, except CO in mg/m³. Each row's breakpoints pair with IAQI_STEPS.
 */
export type AqiTableVersion = 'HJ633-2012' | 'HJ633-2026';
export const AQI_TABLE_VERSIONS: readonly AqiTableVersion[] = ['HJ633-2012', 'HJ633-2026'];

/** One (pollutant, averaging period) row of table 1. */
export type AqiItem =
  | 'SO2_24h'
  | 'SO2_1h'
  | 'NO2_24h'
  | 'NO2_1h'
  | 'PM10_24h'
  | 'CO_24h'
  | 'CO_1h'
  | 'O3_1h'
  | 'O3_8h'
  | 'PM2.5_24h';
export const AQI_ITEMS: readonly AqiItem[] = [
  'SO2_24h',
  'SO2_1h',
  'NO2_24h',
  'NO2_1h',
  'PM10_24h',
  'CO_24h',
  'CO_1h',
  'O3_1h',
  'O3_8h',
  'PM2.5_24h',
];

export type Pollutant = 'SO2' | 'NO2' | 'PM10' | 'PM2.5' | 'CO' | 'O3';
export type AveragingPeriod = '1h' | '8h' | '24h';

/**
 * Decimal places a concentration is reported with before its IAQI is computed: integers in
 * µg/m³ for SO2, NO2, PM10, PM2.5 and O3, one decimal in mg/m³ for CO (HJ 663-2013, the
 * evaluation code HJ 633 defers to for data handling; rounding by GB/T 8170, see
 * `roundHalfEven`). docs/rules.md says what of this could be checked.
 */
export const REPORTING_DIGITS: Readonly<Record<Pollutant, number>> = {
  SO2: 0,
  NO2: 0,
  PM10: 0,
  'PM2.5': 0,
  O3: 0,
  CO: 1,
};

/** IAQI values at the breakpoints (table 1, first row). */
export const IAQI_STEPS: readonly number[] = [0, 50, 100, 150, 200, 300, 400, 500];

/**
 * Rows that stop early: HJ 633-2012 table 1 notes (2) and (3) — SO2 1-hour above 800 µg/m³ is
 * not computed by the 1-hour row (the 24-hour IAQI is used), and O3 8-hour above 800 µg/m³ is
 * not computed by the 8-hour row (the 1-hour IAQI is used).
 */
const TABLE_2012: Record<AqiItem, readonly number[]> = {
  SO2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  SO2_1h: [0, 150, 500, 650, 800],
  NO2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  NO2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  PM10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  CO_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  CO_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  O3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  O3_8h: [0, 100, 160, 215, 265, 800],
  'PM2.5_24h': [0, 35, 75, 115, 150, 250, 350, 500],
};

/**
 * HJ 633—2026 《环境空气质量指数（AQI）技术规定》, issued with GB 3095—2026 by the Ministry of
 * Ecology and Environment and SAMR (announced 2026-02-25/26), in force 2026-03-01. Source here:
 * the ministry's announcement as reported publicly (e.g. 光明日报 2026-02-27, "HJ 633—2026 更新了
 * AQI 中 PM2.5 和 PM10 的分级浓度限值"); the standard's own text could not be read from this
 * project. Confirmed by those reports: only the PM2.5 and PM10 rows change; GB 3095—2026 phase 1
 * (2026-03-01 to 2030-12-31) has a PM2.5 24-hour grade II limit of 60 µg/m³, 50 from 2031-01-01.
 * NOT confirmed: the breakpoints below other than PM2.5 at IAQI 100 (= 60, the phase-1 grade II
 * limit), the PM10 row, whether the table changes again in 2031, and whether the SO2/O3 notes
 * (above 800) are worded as in 2012. See docs/rules.md "2026 table". Every other row is 2012's.
 */
const TABLE_2026: Record<AqiItem, readonly number[]> = {
  ...TABLE_2012,
  PM10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
  'PM2.5_24h': [0, 35, 60, 115, 150, 250, 350, 500],
};

export const AQI_TABLES: Record<AqiTableVersion, Record<AqiItem, readonly number[]>> = {
  'HJ633-2012': TABLE_2012,
  'HJ633-2026': TABLE_2026,
};

/** 2026-03-01 00:00 China Standard Time (UTC+8), when the revision comes into force. */
export const HJ633_2026_IN_FORCE_MS = Date.UTC(2026, 1, 28, 16, 0, 0);

/** The table in force for data of time `ts` (ms epoch). */
export function aqiTableVersionAt(ts: number): AqiTableVersion {
  return ts >= HJ633_2026_IN_FORCE_MS ? 'HJ633-2026' : 'HJ633-2012';
}

export function itemPollutant(item: AqiItem): Pollutant {
  return item.slice(0, item.indexOf('_')) as Pollutant;
}

export function itemPeriod(item: AqiItem): AveragingPeriod {
  return item.slice(item.indexOf('_') + 1) as AveragingPeriod;
}
