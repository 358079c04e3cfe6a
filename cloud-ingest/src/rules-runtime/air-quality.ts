import type { Reading } from '@village/protocol';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CloudConfig } from '../config.js';
import { createAqiRoutes } from '../http/aqi-routes.js';
import { createQualityRoutes } from '../http/quality-routes.js';
import { type ReportStation, createReportRoutes } from '../http/report-routes.js';
import type { RegistryFile } from '../registry-file.js';
import type { PlaceTags, Sink, SinkBatch } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { type AqiStore, openAqiStore } from './aqi-store.js';
import { createAqiPublisher } from './hourly-aqi-publisher.js';
import { createQualityFlags } from './quality-flags.js';
import { type QualityStore, openQualityStore } from './quality-store.js';

export interface AirQuality {
  /**
   * Judges a committed batch: `good` (its `N` readings) goes on to the rules; `written` settles
   * once the flags and the AQI samples are stored (at once with cloud.db's stores).
   */
  gate(batch: SinkBatch): { good: readonly Reading[]; written: Promise<void> };
  /** Reloads windows and overrides an officer changed through another host (shared stores). */
  refresh(): Promise<void>;
  routes: Hono[];
  close(): Promise<void>;
}

/**
 * What runs on every committed batch before the rules (issue 16): quality control, whose `N`
 * readings alone go on to the rules, and the published AQI, which keeps every pollutant reading
 * with its flag. Undefined when both `rules.quality` and `rules.aqi` are disabled. Its state is
 * in cloud.db, or in `stores` (the SharedStore's, with several hosts: docs/scaling.md).
 */
export function startAirQuality(deps: {
  config: CloudConfig;
  registryFile: RegistryFile;
  db: Db;
  stores?: { quality: QualityStore; aqi: AqiStore };
  sink?: Sink;
  log: Logger;
  registry: Registry;
  now(): number;
}): AirQuality | undefined {
  const { quality: qSection, aqi: aSection } = deps.config.rules;
  if (!qSection.enabled && !aSection.enabled) return undefined;
  const stationVillage = new Map<string, string>();
  const stationPlace = new Map<string, PlaceTags>();
  const stations = new Map<string, ReportStation>();
  for (const c of deps.registryFile.counties)
    for (const t of c.towns)
      for (const v of t.villages)
        for (const s of v.stations) {
          stationVillage.set(s.id, v.id);
          stationPlace.set(s.id, { county: c.id, town: t.id, village: v.id, station: s.id });
          stations.set(s.id, { id: s.id, name: s.name, village: v.id, waterBody: s.waterBody ?? 'river' });
        }
  const quality = qSection.enabled
    ? createQualityFlags({
        store: deps.stores?.quality ?? openQualityStore(deps.db),
        section: qSection,
        sink: deps.sink,
        log: deps.log.child({ component: 'quality' }),
        registry: deps.registry,
        now: deps.now,
      })
    : undefined;
  const publisher = aSection.enabled
    ? createAqiPublisher({
        store: deps.stores?.aqi ?? openAqiStore(deps.db),
        sink: deps.sink,
        log: deps.log.child({ component: 'aqi' }),
        registry: deps.registry,
        now: deps.now,
        placeOfStation: (s) => stationPlace.get(s) ?? { county: null, town: null, village: null, station: s },
        intervalOf: (device) => qSection.devices[device]?.intervalMs,
        graceMs: aSection.graceMs,
        everyMs: aSection.publishEveryMs,
      })
    : undefined;
  if (quality && publisher) quality.onChange((c) => publisher.flagChanged(c));
  const routes: Hono[] = [];
  if (quality) routes.push(createQualityRoutes({ quality, stationVillage }));
  if (publisher) {
    routes.push(createAqiRoutes({ publisher, stationVillage }));
    routes.push(createReportRoutes({ publisher, quality, sink: deps.sink, stations, now: deps.now }));
  }
  return {
    gate(batch) {
      const judged = quality
        ? quality.judge(batch)
        : {
            results: batch.readings.map((reading) => ({ reading, flag: 'N' as const })),
            good: batch.readings,
            written: Promise.resolve(),
          };
      const recorded = publisher?.record(batch.place, judged.results);
      return {
        good: judged.good,
        written: recorded ? Promise.all([judged.written, recorded]).then(() => {}) : judged.written,
      };
    },
    refresh: async () => quality?.refresh(),
    routes,
    async close() {
      await quality?.close();
      await publisher?.close();
    },
  };
}
