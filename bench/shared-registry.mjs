#!/usr/bin/env node
// What the shared registry (store.kind postgres, store/registry-replica.ts) costs on a real
// PostgreSQL 15 (test-kit's startPostgres, over TCP on 127.0.0.1): a host's poll when nothing
// changed (one indexed read), an admin change through the replica (import check, the change in
// cloud.db, export, the document written under the row lock) and another host's poll that
// imports it, for a registry of `--villages` villages (2 stations, 2 people each), `--users`
// officers and `--devices` devices named by the registry (their owners are written with every
// version, shared-store/postgres-device-owners.ts writeRegistryOwners). Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/shared-registry.mjs [--villages 200] [--users 100] [--devices 0] [--n 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { percentile } from './latency.mjs';
import { openDatabase, openPostgresSharedStore, startPostgres } from './shared-stores.mjs';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'cloud-ingest', 'dist');
const { openRegistryStore } = await import(join(dist, 'store', 'registry-store.js'));
const { openRegistryReplica } = await import(join(dist, 'store', 'registry-replica.js'));
const { createEntity } = await import(join(dist, 'store', 'registry-entities.js'));
const { hashPassword } = await import(join(dist, 'password-hash.js'));
const HASH = hashPassword('bench-password'); // one real hash for all: the import checks their form

const { values: args } = parseArgs({
  options: {
    villages: { type: 'string', default: '200' },
    users: { type: 'string', default: '100' },
    devices: { type: 'string', default: '0' },
    n: { type: 'string', default: '100' },
  },
});
const V = Number(args.villages);
const U = Number(args.users);
const N = Number(args.n);
const D = Number(args.devices);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'shared-registry', ...o })}\n`);
const villages = Array.from({ length: V }, (_, i) => ({
  id: `v${i}`,
  name: `村${i}`,
  stations: [0, 1].map((s) => ({ id: `s${i}-${s}`, name: `站${i}-${s}`, edges: [`edge-${i}-${s}`] })),
}));
const file = {
  counties: [{ id: 'c1', name: '县', towns: [{ id: 't1', name: '镇', villages }] }],
  people: villages.flatMap((v) =>
    [0, 1].map((p) => ({
      id: `p-${v.id}-${p}`,
      name: `人${p}`,
      station: v.stations[0].id,
      livesAlone: p === 0,
    })),
  ),
  devices: Array.from({ length: D }, (_, i) => ({
    id: `dev-${i}`,
    edge: `edge-${i % V}-${i % 2}`,
    kind: 'air-quality',
    driver: 'modbus',
  })),
  users: Array.from({ length: U }, (_, i) => ({
    username: `officer-${i}`,
    name: `官${i}`,
    role: 'village',
    place: `v${i % V}`,
    passwordHash: HASH,
  })),
};
const timed = async (fn) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) * 1000;
};
const summary = (op, us) => {
  us.sort((a, b) => a - b);
  out({
    op,
    n: us.length,
    villages: V,
    users: U,
    devices: D,
    p50Us: Math.round(percentile(us, 0.5)),
    p99Us: Math.round(percentile(us, 0.99)),
    loadavg1: Number(loadavg()[0].toFixed(1)),
  });
};

const pg = await startPostgres({ database: 'bench' });
const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'bench-shared-registry-')));
const log = pino({ level: 'silent' });
const hosts = [];
try {
  for (const dir of dirs) {
    const db = openDatabase(dir);
    const registry = openRegistryStore(db, file, []);
    const store = await openPostgresSharedStore({ url: pg.url, poolSize: 4 });
    const replica = await openRegistryReplica({
      db,
      store: store.registry,
      file,
      fileImportedAtStart: registry.fileImportedAtStart,
      credentialEdges: [],
      onImported: async () => registry.refresh(),
      pollMs: 3_600_000, // polled by hand below
      log,
      metricsRegistry: new Registry(),
      now: Date.now,
    });
    hosts.push({ db, store, replica });
  }
  const [a, b] = hosts;
  out({ op: 'document', bytes: JSON.stringify(file).length, villages: V, users: U, devices: D });
  const idle = [];
  for (let i = 0; i < N; i++) idle.push(await timed(() => b.replica.poll()));
  summary('poll, nothing new', idle);
  const changes = [];
  const imports = [];
  for (let i = 0; i < N; i++) {
    const ctx = { actor: 'bench', now: Date.now() };
    changes.push(
      await timed(() =>
        a.replica.change(() =>
          createEntity(a.db, 'village', { id: `bench-${i}`, town: 't1', name: `新${i}` }, ctx),
        ),
      ),
    );
    imports.push(
      await timed(async () => {
        if (!(await b.replica.poll())) throw new Error('the other host did not import the change');
      }),
    );
  }
  summary('admin change on host A', changes);
  summary('poll on host B importing it', imports);
} finally {
  for (const h of hosts) {
    h.replica.close();
    await h.store.close();
    h.db.close();
  }
  await pg.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
