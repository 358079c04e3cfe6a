import type { QcReason } from './data-flag.js';

/** The physical range of a metric in one unit, e.g. PM2.5 0–1000 µg/m³, CO 0–50 mg/m³. */
export interface PhysicalRange {
  unit: string;
  min: number;
  max: number;
}

/**
 * Range, unit and sign of one value. A unit that none of the ranges names is refused rather
 * than guessed at: CO sent in µg/m³ against a mg/m³ range would otherwise read 1000 times too
 * high. A negative value is its own reason (a concentration cannot be negative: a zero offset or
 * a fault), unless the range in that unit goes below zero (temperature).
 */
export function checkRange(value: number, unit: string, ranges: readonly PhysicalRange[]): QcReason | null {
  const range = ranges.find((r) => r.unit === unit);
  if (!range) {
    const known = ranges.map((r) => r.unit).join(', ');
    return { code: 'unit_unknown', detail: `unit ${JSON.stringify(unit)} is not one of ${known}` };
  }
  if (value < 0 && range.min >= 0) return { code: 'negative', detail: `${value} ${unit} is negative` };
  if (value < range.min) return { code: 'below_range', detail: `${value} ${unit} is below ${range.min}` };
  if (value > range.max) return { code: 'above_range', detail: `${value} ${unit} is above ${range.max}` };
  return null;
}
