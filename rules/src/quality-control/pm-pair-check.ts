import type { QcReason } from './data-flag.js';

/**
 * PM2.5 is a part of PM10, so at one station and one time PM2.5 cannot exceed PM10 (beyond the
 * sensors' own noise, `tolerance` µg/m³). Both readings are suspect: which one is wrong is not
 * known, so the check flags whichever it is given.
 */
export function checkPmPair(pm25: number, pm10: number, tolerance: number): QcReason | null {
  if (pm25 <= pm10 + tolerance) return null;
  return { code: 'pm25_above_pm10', detail: `PM2.5 ${pm25} is above PM10 ${pm10} (tolerance ${tolerance})` };
}
