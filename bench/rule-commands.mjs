#!/usr/bin/env node
// Officers' incident commands across hosts (docs/rules-across-hosts.md "Commands on any host"):
// two hosts in this process (startPartitionedRules as built, each its own cloud.db and Pool) on a
// real PostgreSQL 15 (test-kit's startPostgres, durable as shipped), cloud.yaml's journal defaults
// (pollMs 50). Host A holds the village; `--incidents` SOS incidents are opened, then each is
// acknowledged one after the other, half through A (run locally) and half through B (queued for A,
// carried out there, answered on B). Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/rule-commands.mjs [--incidents 200]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timed } from './latency.mjs';
import { openDatabase, openPostgresSharedStore, startPostgres } from './shared-stores.mjs';

const dist = join(import.meta.dirname, '..', 'cloud-ingest', 'dist');
const { startPartitionedRules } = await import(join(dist, 'rules-runtime', 'partitioned-rules.js'));
const { parseConfig } = await import(join(dist, 'config.js'));
const { parseRegistry } = await import(join(dist, 'registry-file.js'));
const { encodeBatch } = await import('@village/protocol');
const { waitFor } = await import('@village/test-kit');
const { pino } = await import('pino');
const { Registry } = await import('prom-client');

const { values: args } = parseArgs({ options: { incidents: { type: 'string', default: '200' } } });
const N = Number(args.incidents);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'rule-commands', ...o })}\n`);

const people = Array.from({ length: N }, (_, i) => ({
  id: `p${i}`,
  name: `p${i}`,
  station: 's1',
  wristband: `wb-${i}`,
  livesAlone: true,
}));
const registry = {
  counties: [
    {
      id: 'c1',
      name: 'c',
      towns: [
        {
          id: 't1',
          name: 't',
          villages: [{ id: 'v1', name: 'v', stations: [{ id: 's1', name: 's', edges: ['edge-1'] }] }],
        },
      ],
    },
  ],
  people,
};
const dir = mkdtempSync(join(tmpdir(), 'bench-rule-commands-'));
writeFileSync(join(dir, 'registry.yaml'), JSON.stringify(registry));
const config = parseConfig(
  { dataDir: './data', registry: './registry.yaml', notify: { mqtt: { enabled: false }, webhooks: [] } },
  dir,
);
const pg = await startPostgres();
const hosts = [];
try {
  for (const name of ['host-a', 'host-b']) {
    const store = await openPostgresSharedStore({ url: pg.url });
    const db = openDatabase(join(dir, `${name}.db`));
    const rules = startPartitionedRules({
      config,
      registryFile: parseRegistry(registry),
      db,
      store,
      placeOf: () => ({ county: 'c1', town: 't1', village: 'v1', station: 's1' }),
      publish: async () => undefined,
      log: pino({ level: 'silent' }),
      registry: new Registry(),
      now: Date.now,
      name,
      options: { pollMs: 50, rowsPerPoll: 200, leaseMs: 15_000 },
    });
    await rules.checkLeases();
    hosts.push({ name, store, db, rules });
  }
  const [a, b] = hosts;
  if (a.rules.held()[0] !== 'v1' || b.rules.held().length !== 0) throw new Error('host-a must hold v1');
  const t0 = Date.now();
  const events = people.map((p, i) => ({
    device: p.wristband,
    type: 'sos',
    severity: 'critical',
    ts: t0 + i,
    data: {},
  }));
  const batch = encodeBatch({
    edgeId: 'edge-1',
    seq: 1,
    boot: 1,
    epoch: 'ep-1',
    createdAt: t0,
    historical: false,
    readings: [],
    events,
  });
  await a.store.recordCommits([
    { edge: 'edge-1', epoch: 'ep-1', seq: 1, receivedAt: t0, partition: 'v1', batch },
  ]);
  const ids = await waitFor(
    `${N} incidents`,
    async () => {
      const l = await b.rules.runtime.incidents({ villages: 'all', state: 'open', limit: N });
      return l.length === N ? l.map((i) => i.id) : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const half = Math.floor(N / 2);
  const ack = (h) => (id) => async () => {
    const v = await h.rules.runtime.acknowledge(id, 'officer-1');
    if (v.state !== 'acknowledged') throw new Error(`${id} is ${v.state}`);
  };
  out({ path: 'on the holder (local)', ...(await timed(ids.slice(0, half).map(ack(a)))) });
  out({ path: 'through another host (queued)', ...(await timed(ids.slice(half).map(ack(b)))) });
  out({ incidents: N, load: loadavg()[0], at: new Date().toISOString() });
} finally {
  for (const h of hosts) {
    await h.rules.close();
    await h.store.close();
    h.db.close();
  }
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
