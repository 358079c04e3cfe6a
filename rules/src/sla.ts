import type { Incident } from './incidents.js';

/** Response statistics per village over a set of incidents (open, acknowledged or resolved). */
export interface VillageSla {
  village: string;
  incidents: number;
  /** Incidents whose outcome is known: acknowledged, or open for longer than the target already. */
  judged: number;
  acknowledgedWithinTarget: number;
  /** acknowledgedWithinTarget / judged; null when nothing could be judged yet. */
  shareWithinTarget: number | null;
  /** Of acknowledged incidents, ms; null when none. */
  medianResponseMs: number | null;
  /** Nearest-rank 90th percentile of response times, ms; null when none. */
  p90ResponseMs: number | null;
  late: number;
}

export interface SlaOptions {
  /** The response target, ms. Default 180 000 (3 minutes). */
  targetMs?: number;
  /** Time of the report; an unacknowledged incident older than the target by then counts as missed. */
  now: number;
}

/** Nearest-rank percentile of an ascending list (p in (0, 100]). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export function slaByVillage(incidents: readonly Incident[], options: SlaOptions): VillageSla[] {
  const target = options.targetMs ?? 180_000;
  const groups = new Map<string, Incident[]>();
  for (const i of incidents) {
    const g = groups.get(i.village);
    if (g) g.push(i);
    else groups.set(i.village, [i]);
  }
  const out: VillageSla[] = [];
  for (const [village, list] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    const times: number[] = [];
    let judged = 0;
    let within = 0;
    let late = 0;
    for (const i of list) {
      if (i.late) late++;
      if (i.firstResponseMs !== null) {
        times.push(i.firstResponseMs);
        judged++;
        if (i.firstResponseMs <= target) within++;
      } else if (options.now - i.openedAt > target) {
        judged++;
      }
    }
    times.sort((a, b) => a - b);
    out.push({
      village,
      incidents: list.length,
      judged,
      acknowledgedWithinTarget: within,
      shareWithinTarget: judged ? within / judged : null,
      medianResponseMs: median(times),
      p90ResponseMs: percentile(times, 90),
      late,
    });
  }
  return out;
}
