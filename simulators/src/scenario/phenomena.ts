import type { Scenario } from './scenario-schema.js';

/**
 * What the timeline says about one moment: how far into a pollution episode a station is
 * (0 clean .. 1 at the peak) and whether its edge's uplink is cut.
 */
export interface EpisodeLevel {
  /** 0..1: ramps up over the first quarter, holds, ramps down over the last quarter. */
  level: number;
  peakPm25: number;
}

export function pollutionAt(scenario: Scenario, stationId: string, t: number): EpisodeLevel {
  let best: EpisodeLevel = { level: 0, peakPm25: 0 };
  for (const ph of scenario.timeline) {
    if (ph.type !== 'pollution-episode') continue;
    if (ph.stations && !ph.stations.includes(stationId)) continue;
    if (t < ph.from || t >= ph.to) continue;
    const x = (t - ph.from) / (ph.to - ph.from);
    const level = x < 0.25 ? x / 0.25 : x <= 0.75 ? 1 : (1 - x) / 0.25;
    if (level * ph.peakPm25 > best.level * best.peakPm25) best = { level, peakPm25: ph.peakPm25 };
  }
  return best;
}

/** PM2.5 at a station: a clean-day baseline raised toward the episode peak, µg/m³. */
export function pm25At(scenario: Scenario, stationId: string, t: number, baseline = 28): number {
  const { level, peakPm25 } = pollutionAt(scenario, stationId, t);
  return baseline + Math.max(0, peakPm25 - baseline) * level;
}

/** True while a daytime hour (07:00–21:00 from the scenario start's clock): people walk then. */
export function isWaking(t: number): boolean {
  const hour = Math.floor((t % 86_400_000) / 3_600_000);
  return hour >= 7 && hour < 21;
}
