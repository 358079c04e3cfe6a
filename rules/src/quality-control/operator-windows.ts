import type { QcReason } from './data-flag.js';

/**
 * A maintenance or calibration window an operator sets (through the API): readings of the
 * device, or of every device at the station, inside [from, to) are flagged M or C. `metrics`
 * narrows it to some metrics (calibrating the CO cell does not void PM).
 */
export interface OperatorWindow {
  id: string;
  kind: 'maintenance' | 'calibration';
  from: number;
  to: number;
  device?: string;
  station?: string;
  metrics?: readonly string[];
  reason?: string;
}

/** The windows covering one reading, as reasons. */
export function checkWindows(
  windows: readonly OperatorWindow[],
  reading: { device: string; metric: string; ts: number },
  station: string,
): QcReason[] {
  const out: QcReason[] = [];
  for (const w of windows) {
    if (reading.ts < w.from || reading.ts >= w.to) continue;
    if (w.device === undefined && w.station === undefined) continue; // a window names what it covers
    if (w.device !== undefined && w.device !== reading.device) continue;
    if (w.station !== undefined && w.station !== station) continue;
    if (w.metrics && !w.metrics.includes(reading.metric)) continue;
    out.push({ code: w.kind, detail: `${w.kind} window ${w.id}${w.reason ? `: ${w.reason}` : ''}` });
  }
  return out;
}
