#!/usr/bin/env node
// End-to-end throughput: a real cloud (embedded broker + SQLite sink) and a real edge (fake
// driver) as child processes. Prints JSON lines: readings/s edge → cloud → stored, bytes per
// reading on the wire, and both processes' peak RSS. Build first: `npm run build`.
//   node bench/e2e-throughput.mjs [--readings 1000000] [--devices 1000] [--interval-ms 20]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

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
const root = join(import.meta.dirname, '..');
const CLOUD = join(root, 'cloud-ingest/dist/bin/village-cloud.js');
const EDGE = join(root, 'edge-agent/dist/bin/village-edge.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'e2e', ...o })}\n`);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const password = 'bench-password';
const hash = spawnSync(process.execPath, [CLOUD, 'hash-password'], {
  input: password,
  encoding: 'utf8',
}).stdout.trim();
mkdirSync(join(dir, 'cloud'));
mkdirSync(join(dir, 'edge'));
writeFileSync(
  join(dir, 'cloud/registry.yaml'),
  stringify({
    counties: [
      {
        id: 'c1',
        name: 'C',
        towns: [
          {
            id: 't1',
            name: 'T',
            villages: [{ id: 'v1', name: 'V', stations: [{ id: 's1', name: 'S', edges: ['edge-1'] }] }],
          },
        ],
      },
    ],
  }),
);
writeFileSync(
  join(dir, 'cloud/cloud.yaml'),
  stringify({
    dataDir: './data',
    registry: './registry.yaml',
    mqtt: { host: '127.0.0.1', port },
    http: { host: '127.0.0.1', port: 0 },
    edges: [{ id: 'edge-1', passwordHash: hash }],
    log: { level: 'info' },
  }),
);
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
        metrics: [
          { name: 'pm2_5', unit: 'µg/m³' },
          { name: 'pm10', unit: 'µg/m³' },
          { name: 'temperature', unit: '°C' },
          { name: 'humidity', unit: '%' },
          { name: 'noise', unit: 'dB' },
        ],
      },
    ],
  }),
);

function start(bin, cfg, readyMsg, flags = []) {
  const child = spawn(process.execPath, [...flags, bin, '--config', cfg], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        const j = JSON.parse(l);
        if (j.msg === readyMsg) resolve(j);
      } catch {}
    });
    child.once('exit', (c) => reject(new Error(`${bin} exited ${c}`)));
  });
  return { child, ready };
}
const peakRssMb = (pid) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const cloud = start(
  CLOUD,
  join(dir, 'cloud/cloud.yaml'),
  'cloud ready',
  args['cloud-node-flags'].split(' ').filter(Boolean),
);
await cloud.ready;
const cloudDb = join(dir, 'cloud/data/cloud.db');
const edgeFlags = args['edge-node-flags'].split(' ').filter(Boolean);
const edge = start(EDGE, join(dir, 'edge/edge.yaml'), 'edge ready', edgeFlags);
const { healthPort } = await edge.ready;
const db = new Database(cloudDb, { readonly: true });
const count = db.prepare('SELECT COUNT(*) AS n FROM readings');
let first = 0;
let last = 0;
let n = 0;
const started = Date.now();
while (n < N) {
  await new Promise((r) => setTimeout(r, 100));
  n = count.get().n;
  if (n > 0 && !first) first = Date.now();
  if (Date.now() - started > 600_000) throw new Error(`bench timed out at ${n} of ${N}`);
}
last = Date.now();
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
  edge_peak_rss_mb: Math.round(peakRssMb(edge.child.pid)),
  cloud_peak_rss_mb: Math.round(peakRssMb(cloud.child.pid)),
  rewrites,
  synchronous: args.synchronous,
  edge_node_flags: edgeFlags.join(' '),
});
db.close();
edge.child.kill('SIGTERM');
cloud.child.kill('SIGTERM');
await Promise.all([
  new Promise((r) => edge.child.once('exit', r)),
  new Promise((r) => cloud.child.once('exit', r)),
]);
rmSync(dir, { recursive: true, force: true });
