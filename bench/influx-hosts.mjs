#!/usr/bin/env node
// Readings/s into a real InfluxDB with one, two and three ingest hosts sharing the seq dedupe and
// the journal in a real PostgreSQL (docs/scaling.md "Several hosts"): each host a `village-cloud`
// process with its own data folder (external mode on one Mosquitto, `store: { kind: postgres }`,
// `sink: { kind: influx }`, rules off), fed by `--edges` real `village-edge` processes (fake
// driver) that generate faster than the ingest takes. Per run: a fresh InfluxDB database and new
// edge ids (fresh seq state); the rate is the readings InfluxDB holds over the time from the
// first ack to the last edge's empty outbox. Prints JSON lines. Build first: `npm run build`.
//   node bench/influx-hosts.mjs [--hosts 1,2,3] [--readings 60000] [--edges 2] [--batch 500]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startInfluxd, startMosquitto, startPostgres } from '@village/test-kit';
import { stringify } from 'yaml';
import { startPostgresHosts } from './postgres-hosts.mjs';
import { EDGE, peakRssMb, startBin, stopAll } from './village-processes.mjs';

const { values: a } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1,2,3' },
    readings: { type: 'string', default: '60000' },
    edges: { type: 'string', default: '2' },
    batch: { type: 'string', default: '500' },
  },
});
const HOSTS = a.hosts.split(',').map(Number);
const N = Number(a.readings);
const EDGES = Number(a.edges);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'influx-hosts', ...o })}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'bench-influx-hosts-'));

const edgeIds = HOSTS.flatMap((h) => Array.from({ length: EDGES }, (_, e) => `edge-h${h}-${e + 1}`));
const passwords = Object.fromEntries([['ingest', 'bench-ingest'], ...edgeIds.map((id) => [id, `pw-${id}`])]);
const pg = await startPostgres();
const influxd = await startInfluxd(HOSTS.map((h) => `hosts${h}`));
const mosquitto = await startMosquitto(passwords);
process.env.VILLAGE_INGEST_PASSWORD = passwords.ingest;

const metric = async (port, name) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );
};
const countReadings = async (db) => {
  const [r] = await influxd.query('SELECT count(*) FROM /.*/', db);
  return (r.series ?? [])
    .filter((s) => s.name !== 'events')
    .flatMap((s) => s.values[0].slice(1))
    .reduce((x, y) => x + (y ?? 0), 0);
};

try {
  for (const hosts of HOSTS) {
    const run = join(dir, `hosts-${hosts}`);
    const edges = edgeIds.filter((id) => id.startsWith(`edge-h${hosts}-`));
    const cloud = await startPostgresHosts({
      dir: run,
      hosts,
      edges,
      pg,
      influxUrl: influxd.url,
      database: `hosts${hosts}`,
      mosquitto,
      group: `bench${hosts}`,
    });
    const edgePorts = [];
    for (const id of edges) {
      const edgeDir = join(run, id);
      mkdirSync(edgeDir, { recursive: true });
      writeFileSync(
        join(edgeDir, 'edge.yaml'),
        stringify({
          edgeId: id,
          dataDir: './data',
          cloud: { url: mosquitto.url, password: passwords[id], ackTimeoutMs: 10_000 },
          outbox: { batchMaxAgeMs: 200, batchMaxReadings: Number(a.batch) },
          health: { host: '127.0.0.1', port: 0 },
          log: { level: 'info' },
          drivers: [
            {
              kind: 'fake',
              id: 'fake',
              prefix: `${id}-dev-`,
              devices: 200,
              intervalMs: 20,
              limit: Math.ceil(N / edges.length),
              metrics: ['pm2_5', 'pm10', 'temperature', 'humidity', 'noise'].map((name) => ({
                name,
                unit: '',
              })),
            },
          ],
        }),
      );
      const e = startBin(EDGE, join(edgeDir, 'edge.yaml'), 'edge ready');
      edgePorts.push((await e.ready).healthPort);
    }
    const expected = Math.ceil(N / edges.length) * edges.length;
    let first = 0;
    const started = Date.now();
    for (;;) {
      await sleep(100);
      const acked = (await Promise.all(edgePorts.map((p) => metric(p, 'edge_batches_acked_total')))).reduce(
        (x, y) => x + y,
      );
      if (acked > 0 && !first) first = Date.now();
      const accepted = await Promise.all(edgePorts.map((p) => metric(p, 'edge_readings_accepted_total')));
      const depth = await Promise.all(edgePorts.map((p) => metric(p, 'edge_outbox_depth_readings')));
      if (accepted.reduce((x, y) => x + y) >= expected && depth.every((d) => d === 0)) break;
      if (Date.now() - started > 900_000) throw new Error('bench timed out');
    }
    const seconds = (Date.now() - first) / 1000;
    const stored = await countReadings(`hosts${hosts}`);
    const perHost = await Promise.all(
      cloud.map(async (c) => ({
        committed: await metric(c.httpPort, 'cloud_batches_total\\{[^}]*result="committed"[^}]*\\}'),
        rssMb: peakRssMb(c.child.pid),
      })),
    );
    out({
      hosts,
      edges: edges.length,
      readings: stored,
      expected,
      seconds,
      readings_per_s: Math.round(stored / seconds),
      batchMaxReadings: Number(a.batch),
      perHost,
      loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    });
    await stopAll();
  }
} finally {
  await stopAll();
  await mosquitto.dispose();
  await influxd.dispose();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
