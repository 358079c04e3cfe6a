#!/usr/bin/env node
// End-to-end throughput: a real cloud (embedded broker + SQLite sink) and a real edge (fake
// driver) as child processes. Prints JSON lines: readings/s edge → cloud → stored, bytes per
// reading on the wire, and both processes' peak RSS. Build first: `npm run build`.
//   node bench/e2e-throughput.mjs [--readings 1000000] [--devices 1000] [--interval-ms 20]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import {
  CLOUD,
  EDGE,
  STATION_METRICS,
  cpuTicks,
  freePort,
  peakRssMb,
  startBin,
  stopAll,
  writeOneStationCloud,
} from './village-processes.mjs';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    devices: { type: 'string', default: '1000' },
    'interval-ms': { type: 'string', default: '20' },
    synchronous: { type: 'string', default: 'full' },
    // What edge-agent/systemd/village-edge.service runs the edge with (a capped heap for 2 GB boxes).
    // Extra node flags for the cloud process (e.g. --cpu-prof to see where its time goes).
    'cloud-node-flags': { type: 'string', default: '' },
    'edge-node-flags': { type: 'string', default: '--max-old-space-size=64 --max-semi-space-size=2' },
  },
});
const N = Number(args.readings);
const dir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'e2e', ...o })}\n`);

const port = await freePort();
const password = 'bench-password';
const cloudConfig = writeOneStationCloud(dir, { mqttPort: port, password });
mkdirSync(join(dir, 'edge'));
writeFileSync(
  join(dir, 'edge/edge.yaml'),
  stringify({
    edgeId: 'edge-1',
    dataDir: './data',
    cloud: { url: `mqtt://127.0.0.1:${port}`, password },
    outbox: { synchronous: args.synchronous, batchMaxAgeMs: 200 },
    health: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    drivers: [
      {
        kind: 'fake',
        id: 'fake',
        devices: Number(args.devices),
        intervalMs: Number(args['interval-ms']),
        limit: N,
        metrics: STATION_METRICS,
      },
    ],
  }),
);

const cloud = startBin(
  CLOUD,
  cloudConfig,
  'cloud ready',
  args['cloud-node-flags'].split(' ').filter(Boolean),
);
await cloud.ready;
const cloudDb = join(dir, 'cloud/data/cloud.db');
const edgeFlags = args['edge-node-flags'].split(' ').filter(Boolean);
const edge = startBin(EDGE, join(dir, 'edge/edge.yaml'), 'edge ready', edgeFlags);
const { healthPort } = await edge.ready;
const db = new Database(cloudDb, { readonly: true });
const count = db.prepare('SELECT COUNT(*) AS n FROM readings');
let first = 0;
let last = 0;
let n = 0;
// The edge's CPU from its first stored reading on (its start-up is not per-reading work).
let edgeTicksAtFirst = 0;
const started = Date.now();
while (n < N) {
  await new Promise((r) => setTimeout(r, 100));
  n = count.get().n;
  if (n > 0 && !first) {
    first = Date.now();
    edgeTicksAtFirst = cpuTicks(edge.child.pid);
  }
  if (Date.now() - started > 600_000) throw new Error(`bench timed out at ${n} of ${N}`);
}
last = Date.now();
const edgeCpuMs = (cpuTicks(edge.child.pid) - edgeTicksAtFirst) * 10;
const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
const metric = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
const bytes = metric('edge_uplink_batch_bytes_sent_total');
const sent = metric('edge_uplink_readings_sent_total');
const [{ rewrites }] = db.prepare('SELECT SUM(rewrites) AS rewrites FROM readings').all();
out({
  readings: n,
  seconds: (last - first) / 1000,
  readings_per_s: Math.round(n / ((last - first) / 1000)),
  bytes_per_reading: Number((bytes / sent).toFixed(2)),
  edge_peak_rss_mb: peakRssMb(edge.child.pid),
  edge_cpu_ms_per_1000_readings: Number(((edgeCpuMs * 1000) / n).toFixed(2)),
  cloud_peak_rss_mb: peakRssMb(cloud.child.pid),
  rewrites,
  synchronous: args.synchronous,
  edge_node_flags: edgeFlags.join(' '),
});
db.close();
await stopAll();
rmSync(dir, { recursive: true, force: true });
