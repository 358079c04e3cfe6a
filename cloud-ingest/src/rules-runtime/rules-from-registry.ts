import { type CompiledRules, type Person, type RulesConfig, RulesError, compileRules } from '@village/rules';
import { ConfigError } from '@village/service-kit';
import { maskName } from '../auth/mask-personal.js';
import type { RegistryFile } from '../registry-file.js';
import type { RulesSection } from './rules-config.js';

/** Where a village sits: the place ids each escalation level notifies. */
export interface VillagePlaces {
  village: string;
  town: string;
  county: string;
}

export interface RulesSetup {
  rules: CompiledRules;
  /** village id → its town and county (from the registry). */
  places: Map<string, VillagePlaces>;
  /** The response target used for SLA figures, ms. */
  ackDeadlineMs: number;
  /** edge id → its station and village (the registry's places), for edge births and deaths. */
  edgeStations: Map<string, { station: string; village: string }>;
  /** A person's name for a notification to this level: in full for the village, masked above it (PIPL). */
  displayName(personId: string, level: string): string;
}

/** Normal ranges used when registry.yaml gives none for a person, bpm and %. */
const DEFAULT_HEART_RATE = { min: 50, max: 120 };
const DEFAULT_SPO2_MIN = 90;
const DEFAULT_WAKING = { from: '07:00', to: '21:00' };

/**
 * Builds the rules config from cloud.yaml's `rules:` and the registry's people and places, and
 * compiles it. Devices other than wristbands are learned from committed batches (their edge's
 * station), so they need no listing here. Throws ConfigError naming the key.
 */
export function compileRulesSetup(
  section: RulesSection,
  registry: RegistryFile,
  configFile = 'cloud.yaml',
): RulesSetup {
  const places = new Map<string, VillagePlaces>();
  const stationVillage = new Map<string, string>();
  const edgeStations = new Map<string, { station: string; village: string }>();
  for (const c of registry.counties)
    for (const t of c.towns)
      for (const v of t.villages) {
        places.set(v.id, { village: v.id, town: t.id, county: c.id });
        for (const s of v.stations) {
          stationVillage.set(s.id, v.id);
          for (const e of s.edges) edgeStations.set(e, { station: s.id, village: v.id });
        }
      }
  const people: Person[] = registry.people.flatMap((p) => {
    // A person without a wristband has nothing the rules can watch.
    if (!p.wristband) return [];
    return [
      {
        id: p.id,
        village: stationVillage.get(p.station)!,
        station: p.station,
        device: p.wristband,
        livesAlone: p.livesAlone,
        heartRate: p.heartRate ? { min: p.heartRate[0], max: p.heartRate[1] } : DEFAULT_HEART_RATE,
        spo2: { min: p.spo2 ? p.spo2[0] : DEFAULT_SPO2_MIN },
        waking: p.waking ?? DEFAULT_WAKING,
        ...(p.quiet ? { quiet: p.quiet } : {}),
        ...(p.reportIntervalMs !== undefined ? { reportIntervalMs: p.reportIntervalMs } : {}),
      },
    ];
  });
  const config: RulesConfig = {
    people,
    thresholds: section.thresholds,
    elderCare: section.elderCare,
    incidents: section.incidents,
    deviceEventQuietMs: section.deviceEventQuietMs,
  };
  try {
    const names = new Map(registry.people.map((p) => [p.id, p.name]));
    const displayName = (id: string, level: string) => {
      const name = names.get(id);
      if (name === undefined) return id;
      return level === 'village' ? name : maskName(name);
    };
    return {
      rules: compileRules(config),
      places,
      ackDeadlineMs: section.incidents.ackDeadlineMs,
      edgeStations,
      displayName,
    };
  } catch (err) {
    if (err instanceof RulesError) throw new ConfigError(`${configFile}: rules: ${err.message}`);
    throw err;
  }
}
