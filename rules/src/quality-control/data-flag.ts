/**
 * The data flag every reading keeps after quality control, in the style of HJ 212-2017's
 * `xxx-Flag` field. Letters taken from HJ 212 keep its meaning:
 * - `N` normal (正常);
 * - `M` maintenance (维护): an operator's maintenance window covers the reading, or the device's
 *   status word says maintenance;
 * - `C` calibration (校准): the same for calibration;
 * - `D` fault (故障): the device's status word says fault, or the device marked the reading bad;
 * - `T` above the measuring range (超测上限).
 * One letter is this project's own, because HJ 212 has no flag for data rejected by automatic
 * review: `Q` — failed an automatic check (negative, below range, unknown unit, spike, flatline,
 * PM2.5 above PM10, high humidity on an optical PM sensor, device said suspect). HJ 212's `F`
 * (停运, stopped) and `S` (手工输入的设定值, set value) are deliberately not reused for flatline
 * and spike: a receiver that knows HJ 212 would read them wrongly. The reasons say which check.
 * A second own letter, `I`, is an officer's invalidation (人工审核无效): set through the API with
 * a reason, never by a check, and undone only by an officer's restore.
 * Anything but `N` is left out of means, AQI and alerts.
 */
export type DataFlag = 'N' | 'M' | 'C' | 'D' | 'T' | 'Q' | 'I';

export const DATA_FLAGS: readonly DataFlag[] = ['N', 'M', 'C', 'D', 'T', 'Q', 'I'];

export const DATA_FLAG_MEANING: Readonly<Record<DataFlag, string>> = {
  N: 'normal',
  M: 'maintenance',
  C: 'calibration',
  D: 'fault',
  T: 'above measuring range',
  Q: 'failed automatic quality control',
  I: 'invalidated by an officer',
};

export type QcReasonCode =
  | 'maintenance'
  | 'calibration'
  | 'device_status'
  | 'device_marked_bad'
  | 'above_range'
  | 'negative'
  | 'below_range'
  | 'unit_unknown'
  | 'spike'
  | 'flatline'
  | 'pm25_above_pm10'
  | 'high_humidity'
  | 'device_marked_suspect';

export interface QcReason {
  code: QcReasonCode;
  /** Names the value and the limit it broke, for the dashboard and the audit. */
  detail: string;
}

const FLAG_OF: Readonly<Record<QcReasonCode, DataFlag>> = {
  maintenance: 'M',
  calibration: 'C',
  device_status: 'D',
  device_marked_bad: 'D',
  above_range: 'T',
  negative: 'Q',
  below_range: 'Q',
  unit_unknown: 'Q',
  spike: 'Q',
  flatline: 'Q',
  pm25_above_pm10: 'Q',
  high_humidity: 'Q',
  device_marked_suspect: 'Q',
};

/** Most telling first: what an operator declared, then what the device said, then our checks. */
const PRECEDENCE: readonly DataFlag[] = ['M', 'C', 'D', 'T', 'Q'];

/** The one flag a reading keeps, from all the reasons found (none → `N`). */
export function flagOf(reasons: readonly QcReason[], statusFlag?: DataFlag): DataFlag {
  const found = new Set<DataFlag>(
    reasons.map((r) => (r.code === 'device_status' && statusFlag) || FLAG_OF[r.code]),
  );
  for (const f of PRECEDENCE) if (found.has(f)) return f;
  return 'N';
}
