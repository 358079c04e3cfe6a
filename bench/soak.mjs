#!/usr/bin/env node
// Soak: the built cloud (embedded broker, SQLite sink, rules) and a real edge (fake driver, demo
// shape: 50 devices × 2 metrics each second = 100 readings/s, an `sos` event a minute) as child
// processes for --minutes, with a dashboard-like reader polling /api/v1/latest. Prints one JSON
// line per --sample-seconds for both bins, read from their own /metrics (prom-client defaults:
// process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_active_handles_total), the
// cloud's with the Prometheus bearer token (http.metricsTokenSha256), plus readings accepted and
// sent at the edge and written at the cloud; at the end a summary with the least-squares slope of
// RSS and heap per hour (the first sample left out: start-up growth is not a leak).
// Build first: `npx turbo run build`.
//   node bench/soak.mjs [--minutes 30] [--devices 50] [--interval-ms 1000] [--sample-seconds 60]
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { CLOUD, EDGE, freePort, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const { values: a } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    devices: { type: 'string', default: '50' },
    'interval-ms': { type: 'string', default: '1000' },
    'sample-seconds': { type: 'string', default: '60' },
    'event-every-ms': { type: 'string', default: '60000' },
    'api-poll-ms': { type: 'string', default: '5000' },
    // What edge-agent/systemd/village-edge.service runs the edge with (a capped heap for 2 GB boxes).
    'edge-node-flags': { type: 'string', default: '--max-old-space-size=64 --max-semi-space-size=2' },
  },
});
const minutes = Number(a.minutes);
const sampleMs = Number(a['sample-seconds']) * 1000;
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'soak', ...o })}\n`);

const dir = mkdtempSync(join(tmpdir(), 'bench-soak-'));
const mqttPort = await freePort();
const password = randomBytes(16).toString('hex');
const metricsToken = randomBytes(24).toString('hex');
const cloudConfig = writeOneStationCloud(dir, {
  mqttPort,
  password,
  extra: {
    http: {
      host: '127.0.0.1',
      port: 0,
      metricsTokenSha256: createHash('sha256').update(metricsToken).digest('hex'),
    },
  },
});
mkdirSync(join(dir, 'edge'));
const edgeConfig = join(dir, 'edge/edge.yaml');
writeFileSync(
  edgeConfig,
  stringify({
    edgeId: 'edge-1',
    dataDir: './data',
    cloud: { url: `mqtt://127.0.0.1:${mqttPort}`, password },
    health: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    drivers: [
      {
        kind: 'fake',
        id: 'fake',
        devices: Number(a.devices),
        intervalMs: Number(a['interval-ms']),
        eventEveryMs: Number(a['event-every-ms']),
      },
    ],
  }),
);

const cloud = startBin(CLOUD, cloudConfig, 'cloud ready');
const { httpPort } = await cloud.ready;
const edge = startBin(EDGE, edgeConfig, 'edge ready', a['edge-node-flags'].split(' ').filter(Boolean));
const { healthPort } = await edge.ready;

/** Prometheus text → name{labels} → value. */
async function scrape(url, headers = {}) {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const m = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const vitals = (m) => ({
  rssMb: mb(m.get('process_resident_memory_bytes')),
  heapUsedMb: mb(m.get('nodejs_heap_size_used_bytes')),
  handles: m.get('nodejs_active_handles_total'),
  resources: m.get('nodejs_active_resources_total'),
  eventLoopP99Ms: Math.round((m.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1e4) / 10,
});

// A dashboard-like reader: what an open overview page asks for.
let apiCalls = 0;
let apiErrors = 0;
const poller = setInterval(async () => {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/latest`);
    await res.arrayBuffer();
    apiCalls++;
    if (!res.ok) apiErrors++;
  } catch {
    apiErrors++;
  }
}, Number(a['api-poll-ms']));

const t0 = Date.now();
const samples = [];
async function sample() {
  const [e, c] = await Promise.all([
    scrape(`http://127.0.0.1:${healthPort}/metrics`),
    scrape(`http://127.0.0.1:${httpPort}/metrics`, { authorization: `Bearer ${metricsToken}` }),
  ]);
  const s = {
    phase: 'sample',
    minute: Math.round(((Date.now() - t0) / 60_000) * 100) / 100,
    edge: vitals(e),
    cloud: vitals(c),
    readingsAccepted: e.get('edge_readings_accepted_total'),
    readingsSent: e.get('edge_uplink_readings_sent_total'),
    readingsPending: e.get('edge_outbox_pending_readings'),
    readingsWritten: c.get('cloud_readings_written_total'),
    batchesRetried: e.get('edge_batches_retried_total'),
    eventsAccepted: e.get('edge_events_accepted_total'),
    eventsWritten: c.get('cloud_events_written_total'),
    apiCalls,
    apiErrors,
  };
  samples.push(s);
  out(s);
}

await sample();
const endAt = t0 + minutes * 60_000;
while (Date.now() + sampleMs <= endAt + 1_000) {
  await new Promise((r) => setTimeout(r, sampleMs - ((Date.now() - t0) % sampleMs)));
  await sample();
}
clearInterval(poller);

/** Least-squares slope of y over x (x in minutes) → per hour; undefined under 2 points. */
function slopePerHour(points, y) {
  const pts = points.map((p) => [p.minute, y(p)]);
  if (pts.length < 2) return undefined;
  const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length;
  const my = pts.reduce((s, [, v]) => s + v, 0) / pts.length;
  const sxx = pts.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = pts.reduce((s, [x, v]) => s + (x - mx) * (v - my), 0);
  return Math.round((sxy / sxx) * 60 * 10) / 10;
}
const fit = samples.length > 2 ? samples.slice(1) : samples;
const db = new Database(join(dir, 'cloud/data/cloud.db'), { readonly: true });
const stored = db.prepare('SELECT COUNT(*) AS n FROM readings').get().n;
db.close();
const last = samples.at(-1);
out({
  phase: 'summary',
  minutes: last.minute,
  samples: samples.length,
  readingsPerS: Math.round((Number(a.devices) * 2 * 1000) / Number(a['interval-ms'])),
  edgeRssMbPerHour: slopePerHour(fit, (s) => s.edge.rssMb),
  cloudRssMbPerHour: slopePerHour(fit, (s) => s.cloud.rssMb),
  edgeHeapMbPerHour: slopePerHour(fit, (s) => s.edge.heapUsedMb),
  cloudHeapMbPerHour: slopePerHour(fit, (s) => s.cloud.heapUsedMb),
  edgeRssMb: [samples[0].edge.rssMb, last.edge.rssMb],
  cloudRssMb: [samples[0].cloud.rssMb, last.cloud.rssMb],
  edgeHandles: [samples[0].edge.handles, last.edge.handles],
  cloudHandles: [samples[0].cloud.handles, last.cloud.handles],
  readingsAccepted: last.readingsAccepted,
  readingsSent: last.readingsSent,
  readingsStored: stored,
  apiCalls,
  apiErrors,
});
await stopAll();
rmSync(dir, { recursive: true, force: true });
