import { type AqiLevel, aqiLevel } from './aqi-levels.js';
import {
  AQI_ITEMS,
  AQI_TABLES,
  type AqiItem,
  type AqiTableVersion,
  type AveragingPeriod,
  IAQI_STEPS,
  type Pollutant,
  aqiTableVersionAt,
  itemPeriod,
  itemPollutant,
} from './aqi-tables.js';
import { RulesError } from './errors.js';
import { ceilDiv, toExactDecimal } from './exact-decimal.js';

/** Rows whose top breakpoint is not the end of the scale, and the row used instead above it. */
const TRUNCATED_ROW_FALLBACK: Partial<Record<AqiItem, AqiItem>> = { SO2_1h: 'SO2_24h', O3_8h: 'O3_1h' };

export type IaqiOutcome =
  | { iaqi: number; beyondScale: boolean }
  | { iaqi: null; replacedBy: AqiItem; beyondScale: false };

/**
 * IAQI of one concentration by HJ 633 formula (1), rounded up to an integer, computed exactly.
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
  concentration: number;
  /** null when the standard says this row is not computed (see `replacedBy`). */
  iaqi: number | null;
  beyondScale: boolean;
  replacedBy?: AqiItem;
}

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
  /** Why something the caller might expect is missing (e.g. SO2 1h above 800 without a 24h value). */
  warnings: string[];
}

export interface AqiOptions {
  /** Force a table version; otherwise the one in force at `at` is chosen. */
  version?: AqiTableVersion;
  /** ms epoch of the data (the end of its averaging period); required unless `version` is given. */
  at?: number;
}

/** AQI = max IAQI over the given items (HJ 633-2012 formula 2) with level and primary pollutant(s). */
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
  const warnings: string[] = [];
  for (const item of AQI_ITEMS) {
    const c = concentrations[item];
    if (c === undefined) continue;
    const out = iaqi(item, c, version);
    const entry: IaqiEntry = {
      item,
      pollutant: itemPollutant(item),
      period: itemPeriod(item),
      concentration: c,
      iaqi: out.iaqi,
      beyondScale: out.beyondScale,
    };
    if (out.iaqi === null) {
      entry.replacedBy = out.replacedBy;
      if (concentrations[out.replacedBy] === undefined) {
        warnings.push(`${item} is above its top breakpoint and ${out.replacedBy} was not given`);
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
    warnings,
  };
}
