import { type AqiLevel, aqiLevel } from './aqi-levels.js';
import {
  AQI_ITEMS,
  AQI_TABLES,
  type AqiItem,
  type AqiTableVersion,
  type AveragingPeriod,
  IAQI_STEPS,
  type Pollutant,
  REPORTING_DIGITS,
  aqiTableVersionAt,
  itemPeriod,
  itemPollutant,
} from './aqi-tables.js';
import { RulesError } from './errors.js';
import { ceilDiv, exactToNumber, roundHalfEven, toExactDecimal } from './exact-decimal.js';

/** Rows whose top breakpoint is not the end of the scale, and the row used instead above it. */
const TRUNCATED_ROW_FALLBACK: Partial<Record<AqiItem, AqiItem>> = { SO2_1h: 'SO2_24h', O3_8h: 'O3_1h' };

export type IaqiOutcome =
  | { iaqi: number; beyondScale: boolean }
  | { iaqi: null; replacedBy: AqiItem; beyondScale: false };

/**
 * IAQI of one concentration by HJ 633 formula (1), rounded up to an integer, computed exactly.
 * The concentration is taken as given: `computeAqi` rounds to the reporting precision first.
 * Above the top of a full row the IAQI is reported as 500 with `beyondScale`; above the top of
 * the SO2 1-hour or O3 8-hour rows it is not computed (table 1 notes 2 and 3): `replacedBy`
 * names the row the standard uses instead.
 */
export function iaqi(item: AqiItem, concentration: number, version: AqiTableVersion): IaqiOutcome {
  const table = AQI_TABLES[version]?.[item];
  if (!table) throw new RulesError('bad_value', item, `no breakpoint row in ${version}`);
  const c = toExactDecimal(concentration, item);
  const unit = 10n ** BigInt(c.scale);
  const top = table[table.length - 1];
  if (c.n > BigInt(top) * unit) {
    const fallback = TRUNCATED_ROW_FALLBACK[item];
    if (fallback) return { iaqi: null, replacedBy: fallback, beyondScale: false };
    return { iaqi: IAQI_STEPS[table.length - 1], beyondScale: true };
  }
  for (let i = 1; i < table.length; i++) {
    const hi = BigInt(table[i]) * unit;
    if (c.n > hi) continue;
    const lo = BigInt(table[i - 1]) * unit;
    const il = BigInt(IAQI_STEPS[i - 1]);
    const ih = BigInt(IAQI_STEPS[i]);
    // IAQI = (IH - IL) / (BPH - BPL) * (C - BPL) + IL, every term scaled by 10^scale.
    const value = il + ceilDiv((ih - il) * (c.n - lo), hi - lo);
    return { iaqi: Number(value), beyondScale: false };
  }
  /* c.n <= top * unit was checked above, so the loop always returns. */
  throw new RulesError('out_of_range', item, 'is outside the breakpoint table', concentration);
}

export type Concentrations = Partial<Record<AqiItem, number>>;

export interface IaqiEntry {
  item: AqiItem;
  pollutant: Pollutant;
  period: AveragingPeriod;
  /** As given. */
  concentration: number;
  /** At its reporting precision (`REPORTING_DIGITS`, GB/T 8170 rounding): what the IAQI is of. */
  reported: number;
  /** null when the standard says this row is not computed (see `replacedBy`). */
  iaqi: number | null;
  beyondScale: boolean;
  replacedBy?: AqiItem;
}

/**
 * Why an item given to `computeAqi` did not count, as data a caller can show or count:
 * - `negative`: a concentration below zero (a sensor offset or fault); left out, never thrown;
 * - `not_a_number`: not a finite number; left out;
 * - `replacement_missing`: above the top of a truncated row (SO2 1 h or O3 8 h above 800) and
 *   the row the standard uses instead (`replacedBy`) was not given, so this pollutant has no
 *   IAQI at all and the AQI may understate it.
 */
export type AqiFlag =
  | { code: 'negative'; item: AqiItem; value: number }
  | { code: 'not_a_number'; item: AqiItem; value: unknown }
  | { code: 'replacement_missing'; item: AqiItem; value: number; replacedBy: AqiItem };

export interface AqiResult {
  version: AqiTableVersion;
  /** null when no item could be computed. */
  aqi: number | null;
  level: AqiLevel | null;
  /** Items whose IAQI equals the AQI, only when AQI > 50 (HJ 633-2012 5.3); ties all listed. */
  primary: AqiItem[];
  primaryPollutants: Pollutant[];
  /** Items with IAQI > 100 (超标污染物, HJ 633-2012 5.3). */
  exceeding: AqiItem[];
  items: IaqiEntry[];
  /** Items that did not count, and why. Empty when every given item has an IAQI. */
  flags: AqiFlag[];
  /** The same as `flags`, in words for a log line. */
  warnings: string[];
}

export interface AqiOptions {
  /** Force a table version; otherwise the one in force at `at` is chosen. */
  version?: AqiTableVersion;
  /** ms epoch of the data (the end of its averaging period); required unless `version` is given. */
  at?: number;
}

/** A concentration at its reporting precision (integers; CO one decimal), GB/T 8170 rounding. */
export function reportedConcentration(item: AqiItem, concentration: number): number {
  const d = toExactDecimal(concentration, item);
  return exactToNumber(roundHalfEven(d, REPORTING_DIGITS[itemPollutant(item)]));
}

function flagText(f: AqiFlag): string {
  if (f.code === 'negative') return `${f.item} is negative (${f.value}) and was left out`;
  if (f.code === 'not_a_number') return `${f.item} is not a finite number and was left out`;
  return `${f.item} is above its top breakpoint and ${f.replacedBy} was not given: ${itemPollutant(f.item)} has no IAQI`;
}

/**
 * AQI = max IAQI over the given items (HJ 633-2012 formula 2) with level and primary pollutant(s).
 * Each concentration is first rounded to its reporting precision. Bad concentrations (negative,
 * not a number) never throw: they are left out and listed in `flags`.
 */
export function computeAqi(concentrations: Concentrations, options: AqiOptions): AqiResult {
  let version = options.version;
  if (version === undefined) {
    if (typeof options.at !== 'number' || !Number.isFinite(options.at)) {
      throw new RulesError('bad_value', 'options.at', 'give the data time or a table version', options.at);
    }
    version = aqiTableVersionAt(options.at);
  }
  if (!AQI_TABLES[version]) throw new RulesError('bad_value', 'options.version', 'unknown version', version);
  const items: IaqiEntry[] = [];
  const flags: AqiFlag[] = [];
  const usable = (item: AqiItem): boolean => {
    const c = concentrations[item];
    return typeof c === 'number' && Number.isFinite(c) && c >= 0;
  };
  for (const item of AQI_ITEMS) {
    const c = concentrations[item];
    if (c === undefined) continue;
    if (typeof c !== 'number' || !Number.isFinite(c)) {
      flags.push({ code: 'not_a_number', item, value: c });
      continue;
    }
    if (c < 0) {
      flags.push({ code: 'negative', item, value: c });
      continue;
    }
    const reported = reportedConcentration(item, c);
    const out = iaqi(item, reported, version);
    const entry: IaqiEntry = {
      item,
      pollutant: itemPollutant(item),
      period: itemPeriod(item),
      concentration: c,
      reported,
      iaqi: out.iaqi,
      beyondScale: out.beyondScale,
    };
    if (out.iaqi === null) {
      entry.replacedBy = out.replacedBy;
      if (!usable(out.replacedBy)) {
        flags.push({ code: 'replacement_missing', item, value: c, replacedBy: out.replacedBy });
      }
    }
    items.push(entry);
  }
  let aqi: number | null = null;
  for (const e of items) if (e.iaqi !== null && (aqi === null || e.iaqi > aqi)) aqi = e.iaqi;
  const primary = aqi !== null && aqi > 50 ? items.filter((e) => e.iaqi === aqi).map((e) => e.item) : [];
  const primaryPollutants = [...new Set(primary.map(itemPollutant))];
  const exceeding = items.filter((e) => e.iaqi !== null && e.iaqi > 100).map((e) => e.item);
  return {
    version,
    aqi,
    level: aqi === null ? null : aqiLevel(aqi),
    primary,
    primaryPollutants,
    exceeding,
    items,
    flags,
    warnings: flags.map(flagText),
  };
}
