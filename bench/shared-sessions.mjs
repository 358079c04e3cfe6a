#!/usr/bin/env node
// What a request's session or API-token check costs on each SharedStore: cloud.db's (SQLite, in
// process) and PostgreSQL's (a real PostgreSQL 15 from test-kit's startPostgres, over TCP on
// 127.0.0.1, as several hosts use it). One lookup at a time (latency), then `--concurrency` at
// once (lookups/s, as a host's requests overlap). Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/shared-sessions.mjs [--n 2000] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from './latency.mjs';
import {
  openDatabase,
  openPostgresSharedStore,
  openSqliteSharedStore,
  startPostgres,
} from './shared-stores.mjs';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' } },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'shared-sessions', ...o })}\n`);

async function measure(kind, store) {
  const now = Date.now();
  const sessions = [];
  for (let i = 0; i < 200; i++) sessions.push(await store.sessions.create(`officer-${i}`, now, 3_600_000));
  const tokens = [];
  for (let i = 0; i < 200; i++) {
    const draft = { name: `t${i}`, role: 'admin', place: null, access: 'read', createdBy: 'bench' };
    tokens.push((await store.apiTokens.issue({ ...draft, expiresAt: now + 3_600_000 }, now)).token);
  }
  const checks = {
    'session.get': (i) => store.sessions.get(sessions[i % sessions.length], now),
    'token.verify': (i) => store.apiTokens.verify(tokens[i % tokens.length], now),
  };
  for (const [op, check] of Object.entries(checks)) {
    const us = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      if ((await check(i)) === undefined) throw new Error(`${kind} ${op}: refused`);
      us.push((performance.now() - t0) * 1000);
    }
    us.sort((a, b) => a - b);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) await check(next++);
      }),
    );
    const perS = Math.round(N / ((performance.now() - t0) / 1000));
    out({
      store: kind,
      op,
      n: N,
      p50Us: Math.round(percentile(us, 0.5)),
      p99Us: Math.round(percentile(us, 0.99)),
      concurrency: CONCURRENCY,
      perS,
      loadavg1: Number(loadavg()[0].toFixed(1)),
    });
  }
}

const pg = await startPostgres({ database: 'bench' });
const dir = mkdtempSync(join(tmpdir(), 'bench-shared-sessions-'));
const db = openDatabase(dir);
try {
  await measure('sqlite', openSqliteSharedStore(db));
  const store = await openPostgresSharedStore({ url: pg.url });
  try {
    await measure('postgres', store);
  } finally {
    await store.close();
  }
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
  await pg.stop();
}
