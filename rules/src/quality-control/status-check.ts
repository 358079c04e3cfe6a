import type { DataFlag, QcReason } from './data-flag.js';

/**
 * A device's status word (e.g. the water probe's `probe_status` register): which values mean
 * normal, maintenance or calibration. Any other value is a fault.
 */
export interface StatusWordRule {
  metric: string;
  okValues: readonly number[];
  maintenanceValues?: readonly number[];
  calibrationValues?: readonly number[];
  /** A status applies to readings within this long of it (either side). */
  maxAgeMs: number;
}

/** What a status value says about the device's readings: nothing when it is normal. */
export function checkStatusWord(
  status: number,
  rule: StatusWordRule,
): { reason: QcReason; flag: DataFlag } | null {
  if (rule.okValues.includes(status)) return null;
  const detail = `${rule.metric} = ${status}`;
  if (rule.maintenanceValues?.includes(status))
    return { reason: { code: 'device_status', detail: `${detail} (maintenance)` }, flag: 'M' };
  if (rule.calibrationValues?.includes(status))
    return { reason: { code: 'device_status', detail: `${detail} (calibration)` }, flag: 'C' };
  return { reason: { code: 'device_status', detail: `${detail} (fault)` }, flag: 'D' };
}
