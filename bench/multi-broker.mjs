// Multi-broker bench: one built village-cloud worker in external mode consuming --brokers real
// Mosquittos (mqtt.url a list; the shipped examples/mosquitto.conf, started by @village/test-kit),
// and N protocol-level edges (bench/fleet-edges.mjs) spread round-robin over the brokers, each
// cutting one batch every --period ms. What it shows: what consuming several brokers costs the
// worker (CPU per acked batch, ack latency) against one broker carrying the same fleet, and that
// every broker's edges get their acks (acks are published on the batch's own broker).
// Prints JSON lines: one per --sample seconds, then a summary over the run after --warmup.
//
//   node bench/multi-broker.mjs --brokers 1 --edges 100 --period 500 --seconds 30
//   node bench/multi-broker.mjs --brokers 2 --edges 100 --period 500 --seconds 30
import { readFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newEdgeSecret } from '@village/cloud-ingest';
import { startMosquitto } from '@village/test-kit';
import { startFleet } from './fleet-edges.mjs';
import { percentile } from './latency.mjs';
import { CLOUD, cpuTicks, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const { values: a } = parseArgs({
  options: {
    brokers: { type: 'string', default: '2' },
    edges: { type: 'string', default: '100' },
    period: { type: 'string', default: '500' },
    readings: { type: 'string', default: '4' },
    window: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    sample: { type: 'string', default: '5' },
    'cloud-bin': { type: 'string', default: CLOUD },
  },
});
const brokerCount = Number(a.brokers);
const n = Number(a.edges);
const periodMs = Number(a.period);
const INGEST_PASSWORD = 'bench-ingest-password';

const edges = Array.from({ length: n }, (_, i) => ({
  id: `fleet-${String(i).padStart(5, '0')}`,
  ...newEdgeSecret(),
}));
const users = { ingest: INGEST_PASSWORD, ...Object.fromEntries(edges.map((e) => [e.id, e.secret])) };
const brokers = await Promise.all(Array.from({ length: brokerCount }, () => startMosquitto(users)));

const dir = mkdtempSync(join(tmpdir(), 'bench-multi-broker-'));
process.env.BENCH_INGEST_PASSWORD = INGEST_PASSWORD;
const cfg = writeOneStationCloud(dir, {
  edges: edges.map(({ id, passwordHash }) => ({ id, passwordHash })),
  extra: {
    mqtt: {
      mode: 'external',
      // One broker as a plain URL, so the same bench runs against builds before the list.
      url: brokerCount === 1 ? brokers[0].ingestUrl : brokers.map((b) => b.ingestUrl),
      username: 'ingest',
      password: '${BENCH_INGEST_PASSWORD}',
      clientId: 'bench-worker',
    },
  },
});
const cloud = startBin(a['cloud-bin'], cfg, 'cloud ready');
const { httpPort } = await cloud.ready;
const pid = cloud.child.pid;

// Edge i on broker i mod brokers: one fleet per broker.
const fleets = brokers.map((b, k) =>
  startFleet({
    url: b.url,
    edges: edges.filter((_, i) => i % brokerCount === k),
    periodMs,
    readings: Number(a.readings),
    window: Number(a.window),
  }),
);
await Promise.all(fleets.map((f) => f.connected));

const sampleMs = Number(a.sample) * 1000;
const endAt = Date.now() + Number(a.seconds) * 1000;
const warmEnd = Date.now() + Number(a.warmup) * 1000;
await Promise.all(fleets.map((f) => f.take()));
let cpu = cpuTicks(pid);
let at = performance.now();
const run = { acked: 0, ackedPerBroker: brokers.map(() => 0), latencies: [], cpuTicks: 0, ms: 0, resent: 0 };
let last;
while (Date.now() < endAt) {
  await new Promise((r) => setTimeout(r, Math.min(sampleMs, endAt - Date.now())));
  const taken = await Promise.all(fleets.map((f) => f.take()));
  const nowCpu = cpuTicks(pid);
  const now = performance.now();
  const ms = now - at;
  const acked = taken.reduce((s, c) => s + c.acked, 0);
  const latencies = taken.flatMap((c) => c.latencies);
  last = {
    phase: 'sample',
    brokers: brokerCount,
    edges: n,
    ackRate: Math.round((acked * 1000) / ms),
    ackRatePerBroker: taken.map((c) => Math.round((c.acked * 1000) / ms)),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    cloudCpu: round((nowCpu - cpu) / 100 / (ms / 1000), 2),
    backlog: taken.reduce((s, c) => s + c.backlog, 0),
    resent: taken.reduce((s, c) => s + c.resent, 0),
    // The worker's own view of its brokers (GET /api/v1/health).
    brokersUp: (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/health`)).json()).brokers?.map(
      (b) => b.up,
    ),
  };
  print(last);
  if (Date.now() > warmEnd) {
    run.acked += acked;
    taken.forEach((c, k) => {
      run.ackedPerBroker[k] += c.acked;
    });
    for (const l of latencies) run.latencies.push(l);
    run.cpuTicks += nowCpu - cpu;
    run.ms += ms;
    run.resent += last.resent;
  }
  cpu = nowCpu;
  at = now;
}
print({
  phase: 'summary',
  brokers: brokerCount,
  edges: n,
  periodMs,
  readingsPerBatch: Number(a.readings),
  offeredPerS: Math.round((n * 1000) / periodMs),
  ackRate: Math.round((run.acked * 1000) / run.ms),
  ackRatePerBroker: run.ackedPerBroker.map((x) => Math.round((x * 1000) / run.ms)),
  p50Ms: round(percentile(run.latencies, 0.5)),
  p99Ms: round(percentile(run.latencies, 0.99)),
  cloudCpu: round(run.cpuTicks / 100 / (run.ms / 1000), 2),
  // The worker's CPU per acked batch: what the box's cores bound, whatever else runs beside it.
  cloudCpuMsPerBatch: run.acked > 0 ? round((run.cpuTicks * 10) / run.acked, 3) : null,
  loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  resent: run.resent,
  backlogAtEnd: last?.backlog,
  // What the worker logged most over the run (start-up and connects included): reconnects show here.
  cloudLogTop: [...cloud.logged].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.BENCH_LOG_TOP ?? 6)),
});
await Promise.all(fleets.map((f) => f.stop()));
await stopAll();
await Promise.all(brokers.map((b) => b.dispose()));
rmSync(dir, { recursive: true, force: true });

function round(v, digits = 1) {
  return v === undefined ? null : Number(v.toFixed(digits));
}

function print(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}
