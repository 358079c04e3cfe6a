#!/usr/bin/env node
// Dead letters (SharedStore.deadLetters) on both stores, in the same run: a real PostgreSQL 15
// (test-kit's startPostgres, durable as shipped) and SQLite (cloud.db as the cloud opens it). Per
// store, ms per call: `add` of a new letter (what a refused point costs its batch before the ack,
// once per refused point), `add` of a repeat (a resend: the count bumped), `list` of the newest
// 100 (an operator's page), `claim` + `settle` (a re-drive's bookkeeping, without the write).
// Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/dead-letters.mjs [--letters 500] [--size 2048]
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
    letters: { type: 'string', default: '500' },
    size: { type: 'string', default: '2048' },
  },
});
const LETTERS = Number(args.letters);
const SIZE = Number(args.size);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'dead-letters', ...o })}\n`);
const T = Date.UTC(2026, 11, 1);

const letter = (i) => {
  const bytes = new Uint8Array(SIZE);
  new DataView(bytes.buffer).setUint32(0, i);
  return {
    kind: 'point',
    edge: `edge-${i % 20}`,
    seq: null,
    reason: 'field_type_conflict',
    detail: `field type conflict (letter ${i})`,
    bytes,
    at: T + i,
  };
};

const pg = await startPostgres({ database: 'bench' });
const dir = mkdtempSync(join(tmpdir(), 'bench-dead-letters-'));
const dbs = [];
try {
  for (const kind of ['postgres', 'sqlite']) {
    const store =
      kind === 'postgres'
        ? await openPostgresSharedStore({ url: pg.url, poolSize: 2 })
        : (() => {
            const db = openDatabase(dir);
            dbs.push(db);
            return openSqliteSharedStore(db);
          })();
    const dl = store.deadLetters;
    const base = { store: kind, letters: LETTERS, size: SIZE };
    const ids = [];
    const adds = Array.from(
      { length: LETTERS },
      (_, i) => async () => ids.push((await dl.add(letter(i))).id),
    );
    out({ ...base, case: 'add new', ...(await timed(adds)), load1: loadavg()[0] });
    const repeats = Array.from({ length: LETTERS }, (_, i) => () => dl.add(letter(i)));
    out({ ...base, case: 'add repeat', ...(await timed(repeats)), load1: loadavg()[0] });
    const pages = Array.from({ length: 50 }, () => () => dl.list({ state: 'open', limit: 100 }));
    out({ ...base, case: 'list 100', ...(await timed(pages)), load1: loadavg()[0] });
    const redrives = ids.slice(0, 200).map((id) => async () => {
      const c = await dl.claim(id, T);
      if (c.result !== 'claimed') throw new Error(`letter ${id} not claimed: ${c.result}`);
      await dl.settle(id, c.token, true, T);
    });
    out({ ...base, case: 'claim+settle', ...(await timed(redrives)), load1: loadavg()[0] });
    await store.close();
  }
} finally {
  for (const db of dbs) db.close();
  rmSync(dir, { recursive: true, force: true });
  await pg.stop();
}
