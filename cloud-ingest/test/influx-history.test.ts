import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Influxd, startInfluxd } from '@village/test-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { influxSinkSchema } from '../src/sink/influx-config.js';
import { openSeriesCatalog } from '../src/sink/influx-series-catalog.js';
import { createInfluxSink } from '../src/sink/influx-sink.js';
import { openDeadLetterStore } from '../src/store/dead-letter-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { runHistorySuite } from './history-suite.js';

// A real InfluxDB 1.6.7 (Debian's influxd) through the v1 write path; a fresh database per test.
let influxd: Influxd;
beforeAll(async () => {
  influxd = await startInfluxd([]);
}, 60_000);
afterAll(() => influxd?.dispose());

let n = 0;
runHistorySuite('influx', async () => {
  const database = `history_${++n}`;
  await influxd.query(`CREATE DATABASE ${database}`);
  const dir = mkdtempSync(join(tmpdir(), 'influx-history-'));
  const db = openDatabase(dir);
  const registry = openRegistryStore(db, EMPTY_REGISTRY, []);
  const sink = createInfluxSink(
    influxSinkSchema.parse({ kind: 'influx', url: influxd.url, api: 'v1', database }),
    {
      db,
      catalog: openSeriesCatalog(db),
      registry,
      log: pino({ level: 'silent' }),
      metricsRegistry: new Registry(),
      deadLetters: openDeadLetterStore(db, new Registry()),
    },
  );
  return {
    sink,
    registry,
    async dispose() {
      await sink.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
