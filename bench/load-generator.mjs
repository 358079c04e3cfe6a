#!/usr/bin/env node
// Load generator: K villages (a real edge each) × M simulated NB-IoT wristbands against a real
// cloud (embedded broker + SQLite), at a target readings/s, in real time. Prints JSON lines: the
// achieved send rate, CoAP acks, and end-to-end latency percentiles from device send to stored
// (found by polling the cloud's SQLite every 20 ms, so figures carry up to ~20 ms of polling
// granularity) and from device send to the fall alert visible in GET /api/v1/alerts.
// Build first: `npm run build`.
//   node bench/load-generator.mjs [--villages 2] [--devices 50] [--rate 500] [--duration 20]
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { edgeDriversFor, loadGenScenario, planTraffic, playFrames } from '@village/simulators';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

const { values: args } = parseArgs({
  options: {
    villages: { type: 'string', default: '2' },
    devices: { type: 'string', default: '50' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
  },
});
const K = Number(args.villages);
const M = Number(args.devices);
const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
const root = join(import.meta.dirname, '..');
const CLOUD = join(root, 'cloud-ingest/dist/bin/village-cloud.js');
const EDGE = join(root, 'edge-agent/dist/bin/village-edge.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'load-generator', ...o })}\n`);
const children = [];

const tcpPort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const udpPort = () =>
  new Promise((res) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const hash = (pw) =>
  spawnSync(process.execPath, [CLOUD, 'hash-password'], { input: `${pw}\n`, encoding: 'utf8' }).stdout.trim();
function start(bin, config, env, ready) {
  const child = spawn(process.execPath, [bin, '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((res, rej) => {
    child.once('exit', (c) => rej(new Error(`${bin} exited ${c}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        const j = JSON.parse(l);
        if (j.msg === ready) res(j);
      } catch {}
    });
  });
}
const pct = (xs, p) =>
  xs.length === 0 ? null : xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x) => (x === null ? null : Math.round(x * 10) / 10);

try {
  const fallAtS = Math.max(1, DURATION_S - 5);
  const scenario = loadGenScenario({
    villages: K,
    devicesPerVillage: M,
    readingsPerSecond: RATE,
    durationS: DURATION_S,
    fallAtS,
  });
  const { header, frames } = planTraffic(scenario);
  const mqttPort = await tcpPort();
  mkdirSync(join(dir, 'cloud'), { recursive: true });
  const pw = 'load-bench-password';
  writeFileSync(
    join(dir, 'cloud', 'registry.yaml'),
    stringify({
      counties: [
        {
          id: 'c1',
          name: 'C',
          towns: [
            {
              id: 't1',
              name: 'T',
              villages: scenario.stations.map((s) => ({
                id: `v-${s.id}`,
                name: s.id,
                stations: [{ id: s.id, name: s.id, edges: [s.edge] }],
              })),
            },
          ],
        },
      ],
      people: scenario.people.map((p) => ({
        id: p.id,
        name: p.name,
        station: p.station,
        wristband: p.wristband.id,
      })),
    }),
  );
  const pwHash = hash(pw);
  writeFileSync(
    join(dir, 'cloud', 'cloud.yaml'),
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { host: '127.0.0.1', port: mqttPort },
      http: { host: '127.0.0.1', port: 0 },
      edges: scenario.stations.map((s) => ({ id: s.edge, passwordHash: pwHash })),
      log: { level: 'info' },
    }),
  );
  const cloud = await start(CLOUD, join(dir, 'cloud', 'cloud.yaml'), {}, 'cloud ready');
  const api = `http://127.0.0.1:${cloud.httpPort}/api/v1`;
  const endpoints = {};
  for (const s of scenario.stations) {
    endpoints[s.id] = { host: '127.0.0.1', nbiot: await udpPort() };
    const edgeDir = join(dir, s.edge);
    mkdirSync(edgeDir, { recursive: true });
    writeFileSync(
      join(edgeDir, 'edge.yaml'),
      stringify({
        edgeId: s.edge,
        dataDir: './data',
        cloud: { url: `mqtt://127.0.0.1:${mqttPort}`, password: '${P}' },
        outbox: { batchMaxAgeMs: 100, synchronous: 'normal' },
        health: { host: '127.0.0.1', port: 0 },
        log: { level: 'info' },
        drivers: edgeDriversFor(scenario, s.id, endpoints[s.id]),
      }),
    );
    await start(EDGE, join(edgeDir, 'edge.yaml'), { P: pw }, 'edge ready');
  }

  // Device send → stored: per device, the k-th stored heart_rate row is the k-th uplink (one device's frames go in order).
  const sentAt = new Map();
  let fallSentAt;
  const db = () =>
    new Database(join(dir, 'cloud', 'data', 'cloud.db'), { readonly: true, fileMustExist: true });
  const seen = new Map();
  const storedLatencies = [];
  let rdb;
  const pollStored = () => {
    try {
      rdb ??= db();
      const now = performance.now();
      for (const { device, n } of rdb
        .prepare(
          "SELECT s.device AS device, COUNT(*) AS n FROM readings r JOIN series s ON s.id = r.series_id WHERE s.metric = 'heart_rate' GROUP BY s.device",
        )
        .all()) {
        const had = seen.get(device) ?? 0;
        const times = sentAt.get(device) ?? [];
        for (let k = had; k < n && k < times.length; k++) storedLatencies.push(now - times[k]);
        seen.set(device, n);
      }
    } catch {}
  };
  const poller = setInterval(pollStored, 20);
  let alertLatency = null;
  let alertsAvailable = true;
  const alertPoll = setInterval(async () => {
    if (fallSentAt === undefined || alertLatency !== null || !alertsAvailable) return;
    try {
      const r = await fetch(`${api}/alerts?rule=elder.fall`);
      if (r.status === 404) alertsAvailable = false;
      const body = await r.json();
      if ((body.alerts ?? []).some((a) => a.rule === 'elder.fall'))
        alertLatency = performance.now() - fallSentAt;
    } catch {}
  }, 20);

  // The fall uplinks: the wristband report made at the fall's own time (periodic ones have seeded phases).
  const fallBands = new Set(
    scenario.timeline.map((ph) => scenario.people.find((p) => p.id === ph.person)?.wristband.id),
  );
  const fallFrames = new Set(
    frames.filter((f) => f.t === fallAtS * 1000 && fallBands.has(f.target.split('/')[1])),
  );
  const t0 = performance.now();
  const summary = await playFrames(header, frames, {
    endpoints,
    speed: 1,
    concurrency: 512,
    modbusSettleMs: 0,
    onSent(f, at) {
      const device = f.target.split('/')[1];
      if (!sentAt.has(device)) sentAt.set(device, []);
      sentAt.get(device).push(at);
      if (
        fallSentAt === undefined &&
        f.t >= fallAtS * 1000 &&
        frames.some((g) => g === f && g.t === fallAtS * 1000)
      )
        fallSentAt = at;
    },
  });
  const sendS = (performance.now() - t0) / 1000;
  const sentFrames = summary.sent;
  const deadline = performance.now() + 30_000;
  while (storedLatencies.length < sentFrames && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  while (alertLatency === null && alertsAvailable && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  clearInterval(poller);
  clearInterval(alertPoll);
  rdb?.close();
  const sorted = storedLatencies.sort((a, b) => a - b);
  out({
    villages: K,
    devices: K * M,
    targetReadingsPerS: RATE,
    achievedReadingsPerS: Math.round((sentFrames * 5) / sendS),
    uplinks: sentFrames,
    acknowledged: summary.acknowledged,
    errors: summary.errors,
    stored: sorted.length,
  });
  out({
    latency: 'send_to_stored_ms',
    p50: round(pct(sorted, 50)),
    p95: round(pct(sorted, 95)),
    p99: round(pct(sorted, 99)),
    max: round(sorted.at(-1) ?? null),
  });
  out({
    latency: 'send_to_alert_ms',
    value: alertLatency === null ? null : round(alertLatency),
    available: alertsAvailable,
  });
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}
