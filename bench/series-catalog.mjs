#!/usr/bin/env node
// The InfluxDB sink's series catalog (SharedStore.seriesCatalog) on both stores, in the same run:
// a real PostgreSQL 15 (test-kit's startPostgres, durable as shipped) and SQLite (cloud.db as the
// cloud opens it). Per store, ms per `note` of a group of `--group` batches, each of one new device
// with `--metrics` metrics: `new` (the rows are written: one statement on PostgreSQL), `known`
// (the same groups again on the same store: its in-process set, no query), `other host` (the
// same groups on a second store whose set is empty: the statement runs and changes nothing); then
// ms per `list({})` of every series and per `find`. Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/series-catalog.mjs [--groups 50] [--group 64] [--metrics 4]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timed } from './latency.mjs';
import {
  openDatabase,
  openPostgresSharedStore,
  openSqliteSharedStore,
  startPostgres,
} from './shared-stores.mjs';

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string', default: '50' },
    group: { type: 'string', default: '64' },
    metrics: { type: 'string', default: '4' },
  },
});
const GROUPS = Number(args.groups);
const GROUP = Number(args.group);
const METRICS = Number(args.metrics);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'series-catalog', ...o })}\n`);
const T = Date.UTC(2026, 11, 1);

const groups = Array.from({ length: GROUPS }, (_, g) =>
  Array.from({ length: GROUP }, (_, b) => ({
    edgeId: `edge-${g}`,
    historical: false,
    receivedAt: T,
    place: { county: 'c1', town: 't1', village: 'v1', station: `s${g}` },
    readings: Array.from({ length: METRICS }, (_, m) => ({
      device: `dev-${g}-${b}`,
      metric: `m${m}`,
      value: m === 0 ? true : m,
      unit: 'u',
      ts: T,
      quality: 'good',
    })),
    events: [],
  })),
);
const measurementOf = () => 'env';

const pg = await startPostgres({ database: 'bench' });
const dir = mkdtempSync(join(tmpdir(), 'bench-series-catalog-'));
const dbs = [];
try {
  for (const kind of ['postgres', 'sqlite']) {
    const open = async () => {
      if (kind === 'postgres') return openPostgresSharedStore({ url: pg.url, poolSize: 2 });
      const db = openDatabase(dir);
      dbs.push(db);
      return openSqliteSharedStore(db);
    };
    const [a, b] = [await open(), await open()];
    const base = { store: kind, group: GROUP, metrics: METRICS, seriesPerGroup: GROUP * METRICS };
    const note = (store) => groups.map((g) => () => store.seriesCatalog.note(g, measurementOf));
    out({ ...base, case: 'new', ...(await timed(note(a))), load1: loadavg()[0] });
    out({ ...base, case: 'known', ...(await timed(note(a))), load1: loadavg()[0] });
    out({ ...base, case: 'other host', ...(await timed(note(b))), load1: loadavg()[0] });
    const series = (await b.seriesCatalog.list({})).length;
    const reads = Array.from({ length: 20 }, () => () => b.seriesCatalog.list({}));
    out({ ...base, case: 'list all', series, ...(await timed(reads)), load1: loadavg()[0] });
    const finds = groups.map((_, g) => () => b.seriesCatalog.find(`dev-${g}-0`, 'm1'));
    out({ ...base, case: 'find', series, ...(await timed(finds)), load1: loadavg()[0] });
    await a.close();
    await b.close();
  }
} finally {
  for (const db of dbs) db.close();
  rmSync(dir, { recursive: true, force: true });
  await pg.stop();
}
