#!/usr/bin/env node
// End-to-end readings/s into a real InfluxDB (Debian's influxd 1.6.7, started here in a temp
// folder on free 127.0.0.1 ports), beside InfluxDB's own raw write rate of the same shape of
// points measured in the same run: the ratio is the figure (aim: 60 %).
//   e2e: real cloud (embedded broker, sink influx, v1 write path) + real edge (fake driver).
//   raw: 5,000-point line-protocol batches from two concurrent writers straight to /write.
// Prints JSON lines. Build first: `npm run build`.
//   node bench/influx-e2e.mjs [--readings 300000] [--devices 1000] [--interval-ms 20]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startInfluxd } from './influxd.mjs';
import {
  CLOUD,
  EDGE,
  STATION_METRICS,
  freePort,
  peakRssMb,
  startBin,
  stopAll,
  writeOneStationCloud,
} from './village-processes.mjs';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '300000' },
    devices: { type: 'string', default: '1000' },
    'interval-ms': { type: 'string', default: '20' },
    // e.g. --cloud-flag=--cpu-prof --cloud-flag=--cpu-prof-dir=/tmp/prof
    'cloud-flag': { type: 'string', multiple: true, default: [] },
  },
});
const N = Number(args.readings);
const DEVICES = Number(args.devices);
const METRICS = STATION_METRICS.map((m) => m.name);
const dir = mkdtempSync(join(tmpdir(), 'bench-influx-'));
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'influx-e2e', ...o })}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- influxd in the temp folder, on 127.0.0.1 ---
const influxd = await startInfluxd(dir, ['village', 'raw']);
const influx = influxd.url;

// --- e2e: cloud (embedded broker, InfluxDB sink) + edge (fake driver) ---
const mqttPort = await freePort();
const password = 'bench-password';
const cloudConfig = writeOneStationCloud(dir, {
  mqttPort,
  password,
  extra: { sink: { kind: 'influx', url: influx, api: 'v1', database: 'village' } },
});
mkdirSync(join(dir, 'edge'));
writeFileSync(
  join(dir, 'edge/edge.yaml'),
  stringify({
    edgeId: 'edge-1',
    dataDir: './data',
    cloud: { url: `mqtt://127.0.0.1:${mqttPort}`, password },
    outbox: { batchMaxAgeMs: 200 },
    health: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    drivers: [
      {
        kind: 'fake',
        id: 'fake',
        devices: DEVICES,
        intervalMs: Number(args['interval-ms']),
        limit: N,
        metrics: STATION_METRICS,
      },
    ],
  }),
);
const cloud = startBin(CLOUD, cloudConfig, 'cloud ready', args['cloud-flag']);
await cloud.ready;
const edge = startBin(EDGE, join(dir, 'edge/edge.yaml'), 'edge ready');
const { healthPort } = await edge.ready;
const edgeMetric = async (name) => {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
};
let first = 0;
const started = Date.now();
for (;;) {
  await sleep(100);
  const acked = await edgeMetric('edge_batches_acked_total');
  if (acked > 0 && !first) first = Date.now();
  if (
    (await edgeMetric('edge_readings_accepted_total')) >= N &&
    (await edgeMetric('edge_outbox_depth_readings')) === 0
  )
    break;
  if (Date.now() - started > 900_000) throw new Error('bench timed out');
}
const e2eSeconds = (Date.now() - first) / 1000;
const stored = await influxd.countReadings('village');
const e2eRate = Math.round(stored / e2eSeconds);
out({
  phase: 'e2e',
  readings: stored,
  expected: N,
  seconds: e2eSeconds,
  readings_per_s: e2eRate,
  cloud_peak_rss_mb: peakRssMb(cloud.child.pid),
  edge_peak_rss_mb: peakRssMb(edge.child.pid),
});
await stopAll();

// --- raw: the same shape of points (one line per device and instant, 5 fields, same tags) ---
const POINTS_PER_BATCH = 5_000;
const lines = Math.ceil(N / METRICS.length);
const t0 = Date.now() - 86_400_000;
const lineAt = (i) => {
  const device = `fake-${(i % DEVICES) + 1}`;
  const ts = t0 + Math.floor(i / DEVICES) * 20;
  const fields = METRICS.map((m, k) => `${m}=${((i + k) % 1000) / 10}`).join(',');
  return `fake,county=c1,town=t1,village=v1,station=s1,device=${device} ${fields} ${ts}`;
};
const bodies = [];
for (let i = 0; i < lines; i += POINTS_PER_BATCH) {
  bodies.push(
    Array.from({ length: Math.min(POINTS_PER_BATCH, lines - i) }, (_, k) => lineAt(i + k)).join('\n'),
  );
}
const rawSeconds = await influxd.writeRaw(bodies, 'raw');
const rawReadings = await influxd.countReadings('raw');
const rawRate = Math.round(rawReadings / rawSeconds);
out({
  phase: 'raw',
  readings: rawReadings,
  lines,
  points_per_batch: POINTS_PER_BATCH,
  writers: 2,
  seconds: rawSeconds,
  readings_per_s: rawRate,
});
out({
  phase: 'ratio',
  e2e_readings_per_s: e2eRate,
  raw_readings_per_s: rawRate,
  ratio: Number((e2eRate / rawRate).toFixed(3)),
});

await influxd.stop();
rmSync(dir, { recursive: true, force: true });
