import { RulesError } from './errors.js';
import {
  WATER_PARAMETERS,
  type WaterBody,
  type WaterClassResult,
  type WaterParameter,
  type WaterSample,
  waterClass,
} from './water-class.js';

/** One set of water measurements at a station, at data time `ts` (ms epoch). */
export interface WaterObservation {
  ts: number;
  sample: WaterSample;
}

export interface WaterPeriodResult extends WaterClassResult {
  from: number;
  to: number;
  /** Arithmetic mean of each parameter over the period: what the class is of. */
  means: WaterSample;
  /** How many values went into each mean. */
  counts: Partial<Record<WaterParameter, number>>;
  /** Values left out of the means (negative, not finite, outside [from, to) are not counted here). */
  skipped: number;
}

/**
 * Class of a period (a month, a quarter, a year): each parameter's arithmetic mean over the
 * observations with `from ≤ ts < to`, then the single-factor class of those means, as the 2011
 * evaluation method (环办〔2011〕22号) evaluates a section over a period. A value that could not be
 * a measurement (negative, not finite) is left out and counted in `skipped`; flagged readings
 * should not be passed in at all.
 */
export function waterPeriodClass(
  observations: readonly WaterObservation[],
  body: WaterBody,
  period: { from: number; to: number },
): WaterPeriodResult {
  const { from, to } = period;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
    throw new RulesError('bad_value', 'period', 'needs finite from < to', period);
  }
  const sums: Partial<Record<WaterParameter, number>> = {};
  const counts: Partial<Record<WaterParameter, number>> = {};
  let skipped = 0;
  for (const o of observations) {
    if (!(o.ts >= from && o.ts < to)) continue;
    for (const p of WATER_PARAMETERS) {
      const v = o.sample[p];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        skipped++;
        continue;
      }
      sums[p] = (sums[p] ?? 0) + v;
      counts[p] = (counts[p] ?? 0) + 1;
    }
  }
  const means: WaterSample = {};
  for (const p of WATER_PARAMETERS) {
    const n = counts[p];
    if (n) means[p] = (sums[p] ?? 0) / n;
  }
  return { ...waterClass(means, body), from, to, means, counts, skipped };
}
