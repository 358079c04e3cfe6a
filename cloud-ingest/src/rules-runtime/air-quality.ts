import type { Reading } from '@village/protocol';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CloudConfig } from '../config.js';
import { createQualityRoutes } from '../http/quality-routes.js';
import type { RegistryFile } from '../registry-file.js';
import type { Sink, SinkBatch } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { createQualityFlags } from './quality-flags.js';

/**
 * What runs on every committed batch before the rules (issue 16): quality control, whose `N`
 * readings alone go on to the rules. Undefined when `rules.quality.enabled` is false.
 */
export function startAirQuality(deps: {
  config: CloudConfig;
  registryFile: RegistryFile;
  db: Db;
  sink?: Sink;
  log: Logger;
  registry: Registry;
  now(): number;
}): { gate(batch: SinkBatch): readonly Reading[]; routes: Hono[]; close(): Promise<void> } | undefined {
  const section = deps.config.rules.quality;
  if (!section.enabled) return undefined;
  const log = deps.log.child({ component: 'quality' });
  const quality = createQualityFlags({
    db: deps.db,
    section,
    sink: deps.sink,
    log,
    registry: deps.registry,
    now: deps.now,
  });
  const stationVillage = new Map<string, string>();
  for (const c of deps.registryFile.counties)
    for (const t of c.towns)
      for (const v of t.villages) for (const s of v.stations) stationVillage.set(s.id, v.id);
  return {
    gate(batch) {
      return quality.judge(batch).good;
    },
    routes: [createQualityRoutes({ quality, stationVillage })],
    close: () => quality.close(),
  };
}
