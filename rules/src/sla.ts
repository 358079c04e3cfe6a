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

/** Response statistics of one place (village, town or county) over every alert that asked for a response. */
export interface PlaceSla {
  level: 'village' | 'town' | 'county';
  place: string;
  incidents: number;
  /** Alerts that asked for a response: openings, joined alerts and life-safety re-arms. */
  responses: number;
  judged: number;
  acknowledgedWithinTarget: number;
  shareWithinTarget: number | null;
  medianResponseMs: number | null;
  p90ResponseMs: number | null;
  late: number;
}

export interface VillagePlace {
  village: string;
  town: string;
  county: string;
}

/**
 * Response statistics per village, town and county. Every response counts, not only the first:
 * an alert that joined an open incident waits for the next acknowledgement like the first did,
 * and a fall that re-armed an acknowledged incident has its own response time.
 */
export function slaByPlace(
  incidents: readonly Incident[],
  placeOf: (village: string) => VillagePlace | undefined,
  options: SlaOptions,
): PlaceSla[] {
  const target = options.targetMs ?? 180_000;
  const groups = new Map<string, { level: PlaceSla['level']; place: string; list: Incident[] }>();
  for (const i of incidents) {
    const p = placeOf(i.village) ?? { village: i.village, town: '?', county: '?' };
    for (const level of ['village', 'town', 'county'] as const) {
      const k = `${level}|${p[level]}`;
      const g = groups.get(k);
      if (g) g.list.push(i);
      else groups.set(k, { level, place: p[level], list: [i] });
    }
  }
  const order = { village: 0, town: 1, county: 2 };
  return [...groups.values()]
    .sort((a, b) => order[a.level] - order[b.level] || a.place.localeCompare(b.place))
    .map(({ level, place, list }) => {
      const times: number[] = [];
      let judged = 0;
      let within = 0;
      let responses = 0;
      for (const i of list) {
        for (const r of i.responses ?? []) {
          responses++;
          if (r.responseMs !== null) {
            times.push(r.responseMs);
            judged++;
            if (r.responseMs <= target) within++;
          } else if (options.now - r.at > target) {
            judged++;
          }
        }
      }
      times.sort((a, b) => a - b);
      return {
        level,
        place,
        incidents: list.length,
        responses,
        judged,
        acknowledgedWithinTarget: within,
        shareWithinTarget: judged ? within / judged : null,
        medianResponseMs: median(times),
        p90ResponseMs: percentile(times, 90),
        late: list.filter((i) => i.late).length,
      };
    });
}
