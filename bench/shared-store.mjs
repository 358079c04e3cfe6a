#!/usr/bin/env node
// recordCommits per second of the two SharedStore implementations, in the same run: a real
// PostgreSQL 15 (test-kit's startPostgres: fsync and synchronous_commit on, as shipped) and
// SQLite (cloud.db as the cloud opens it: WAL, synchronous=FULL), both on the same disk (a temp
// folder). Each call records a group of 1 or 64 new batches (distinct edges, seqs in order, 200
// bytes each, one partition), as the ingest's group commit does; `--writers N` stores commit at
// once (PostgreSQL: a Pool each, as N hosts; SQLite: a connection each, as N workers of one host).
// Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/shared-store.mjs [--seconds 5] [--writers 1,4] [--groups 1,64]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  openDatabase,
  openPostgresSharedStore,
  openSqliteSharedStore,
  startPostgres,
} from './shared-stores.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    writers: { type: 'string', default: '1,4' },
    groups: { type: 'string', default: '1,64' },
  },
});
const SECONDS = Number(args.seconds);
const WRITERS = args.writers.split(',').map(Number);
const GROUPS = args.groups.split(',').map(Number);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'shared-store', ...o })}\n`);
const batch = new Uint8Array(200).fill(0xab);

const pg = await startPostgres({ database: 'bench' });
const dir = mkdtempSync(join(tmpdir(), 'bench-shared-store-'));
const dbs = [];
const opened = [];
let run = 0;

/** `writers` stores on one database, each committing groups of `group` new batches for SECONDS. */
async function measure(kind, writers, group) {
  run++;
  const stores = [];
  for (let w = 0; w < writers; w++) {
    if (kind === 'postgres') {
      stores.push(await openPostgresSharedStore({ url: pg.url, poolSize: 2 }));
    } else {
      const db = openDatabase(dir);
      dbs.push(db);
      stores.push(openSqliteSharedStore(db));
    }
  }
  opened.push(...stores);
  const latencies = [];
  let batches = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    stores.map(async (store, w) => {
      // Each writer has its own edges, so every batch is new: the cost of a commit, not of a dedupe.
      for (let seq = 1; performance.now() < until; seq++) {
        const items = Array.from({ length: group }, (_, i) => ({
          edge: `r${run}-w${w}-e${i}`,
          epoch: 'e1',
          seq,
          receivedAt: Date.now(),
          partition: `bench-${run}`,
          batch,
        }));
        const t = performance.now();
        await store.recordCommits(items);
        latencies.push(performance.now() - t);
        batches += group;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p) =>
    Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2));
  out({
    store: kind,
    writers,
    group,
    seconds: SECONDS,
    calls: latencies.length,
    callsPerSec: Math.round(latencies.length / SECONDS),
    batchesPerSec: Math.round(batches / SECONDS),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    loadAvg: Number(loadavg()[0].toFixed(1)),
  });
}

try {
  for (const writers of WRITERS) {
    for (const group of GROUPS) {
      for (const kind of ['postgres', 'sqlite']) await measure(kind, writers, group);
    }
  }
} finally {
  for (const s of opened) await s.close();
  for (const db of dbs) db.close();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
