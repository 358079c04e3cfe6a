import { parseScenario } from '../scenario/scenario-load.js';
import type { Scenario } from '../scenario/scenario-schema.js';

/**
 * The load generator's village set: K stations (one edge each) × M NB-IoT wristbands, each
 * reporting often enough that all together send `readingsPerSecond` readings (a wristband
 * uplink carries 5: heart_rate, spo2, steps, battery, worn), in real time (compression 1),
 * plus one fall per village at `fallAtS` to time the path to an alert.
 */
export const READINGS_PER_WRISTBAND_UPLINK = 5;

export interface LoadOptions {
  villages: number;
  devicesPerVillage: number;
  readingsPerSecond: number;
  durationS: number;
  /** When each village's fall happens, s from the start; none when omitted. */
  fallAtS?: number;
  seed?: number;
}

const pad = (n: number) => String(n).padStart(4, '0');

export function loadGenScenario(o: LoadOptions): Scenario {
  const uplinksPerS = o.readingsPerSecond / READINGS_PER_WRISTBAND_UPLINK;
  const everyMs = Math.max(1, Math.round((1000 * o.villages * o.devicesPerVillage) / uplinksPerS));
  const stations = Array.from({ length: o.villages }, (_, k) => ({
    id: `lv${pad(k)}`,
    edge: `load-edge-${pad(k)}`,
  }));
  const people = stations.flatMap((s, k) =>
    Array.from({ length: o.devicesPerVillage }, (_, m) => ({
      id: `lp-${pad(k)}-${pad(m)}`,
      name: `load ${k}/${m}`,
      station: s.id,
      wristband: { id: `lb-${pad(k)}-${pad(m)}`, network: 'nbiot', every: everyMs },
    })),
  );
  const fallAt = o.fallAtS === undefined ? undefined : new Date(o.fallAtS * 1000).toISOString().slice(11, 19);
  return parseScenario(
    {
      name: 'load',
      seed: o.seed ?? 1,
      start: '2025-05-01T08:00:00+08:00',
      duration: o.durationS * 1000,
      compression: 1,
      stations,
      people,
      timeline:
        fallAt === undefined
          ? []
          : people
              .filter((_, i) => i % o.devicesPerVillage === 0)
              .map((p) => ({ type: 'fall', at: fallAt, person: p.id })),
    },
    'load scenario',
  );
}
