#!/usr/bin/env node
// The cloud alone into a real InfluxDB, beside InfluxDB's own raw write rate for the same points,
// measured in the same run (issue 21's aim: at least 60 %). Debian's influxd 1.6.7 in a temp folder.
//   cloud: the built `village-cloud` (embedded broker, sink influx, v1 write path), fed pre-encoded
//          batches by --edges protocol-level clients at once, each with --window batches in flight;
//          timed from the first publish to the last ack.
//   raw:   the very lines the cloud wrote (the cloud's own batchToPoints, from its dist), in
//          requests of --raw-lines lines from two concurrent writers straight to /write.
// Prints JSON lines (phase cloud, raw, ratio). Build first: `npm run build`.
//   node bench/cloud-influx-ratio.mjs [--edges 100] [--batches 10] [--size 500] [--window 4] [--rules off]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAck, encodeBatch, topics } from '@village/protocol';
import mqtt from 'mqtt';
import { batchToPoints } from '../cloud-ingest/dist/sink/influx-line-protocol.js';
import { startInfluxd } from './influxd.mjs';
import { CLOUD, freePort, peakRssMb, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const { values: opt } = parseArgs({
  options: {
    edges: { type: 'string', default: '100' },
    batches: { type: 'string', default: '10' },
    size: { type: 'string', default: '500' },
    window: { type: 'string', default: '4' },
    'raw-lines': { type: 'string', default: '5000' },
    // e.g. --cloud-flag=--cpu-prof --cloud-flag=--cpu-prof-dir=/tmp/prof
    'cloud-flag': { type: 'string', multiple: true, default: [] },
    // --rules off: the ingest alone (no quality control, AQI samples or rules state in cloud.db).
    rules: { type: 'string', default: 'on' },
  },
});
const EDGES = Number(opt.edges);
const BATCHES = Number(opt.batches);
const SIZE = Number(opt.size);
const WINDOW = Number(opt.window);
const RAW_LINES = Number(opt['raw-lines']);
const METRICS = [
  ['pm25', 'µg/m³'],
  ['pm10', 'µg/m³'],
  ['temp', '°C'],
  ['rh', '%'],
];
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'cloud-influx-ratio', ...o })}\n`);
const dir = mkdtempSync(join(tmpdir(), 'bench-cloud-influx-'));
const influxd = await startInfluxd(dir, ['village', 'raw']);

// Each edge its own 50 devices (a device belongs to one edge), 4 metrics, one reading per series
// a second: a village station's mix.
const edgeIds = Array.from({ length: EDGES }, (_, i) => `edge-${i + 1}`);
const batchOf = (edge, seq) => {
  const t0 = Date.now() - 86_400_000 + seq * 1_000_000;
  const readings = [];
  for (let i = 0; i < SIZE; i++) {
    const series = i % 200;
    const [metric, unit] = METRICS[series & 3];
    readings.push({
      device: `${edge}-dev-${series >> 2}`,
      metric,
      value: Math.round((20 + Math.sin(i + seq) * 10) * 10) / 10,
      unit,
      ts: t0 + Math.floor(i / 200) * 1000,
      quality: 'good',
    });
  }
  return { edgeId: edge, seq, boot: 1, createdAt: Date.now(), historical: true, readings, events: [] };
};
const batches = edgeIds.map((edge) => Array.from({ length: BATCHES }, (_, i) => batchOf(edge, i + 1)));
const encoded = batches.map((list) => list.map((b) => Buffer.from(encodeBatch(b))));
const total = EDGES * BATCHES * SIZE;

// --- cloud alone ---
const mqttPort = await freePort();
const password = 'bench-password';
const hash = spawnSync(process.execPath, [CLOUD, 'hash-password'], {
  input: password,
  encoding: 'utf8',
}).stdout.trim();
const cloudConfig = writeOneStationCloud(dir, {
  mqttPort,
  password,
  // One scrypt hash for every edge: the bench measures ingest, not CONNECT.
  edges: edgeIds.map((id) => ({ id, passwordHash: hash })),
  extra: {
    sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' },
    ...(opt.rules === 'off' ? { rules: { enabled: false } } : {}),
  },
});
const cloud = startBin(CLOUD, cloudConfig, 'cloud ready', opt['cloud-flag']);
await cloud.ready;
const clients = await Promise.all(
  edgeIds.map(async (edge) => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      protocolVersion: 4,
      clientId: edge,
      username: edge,
      password,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync(topics.ack(edge), { qos: 1 });
    return client;
  }),
);
const started = process.hrtime.bigint();
let ackedAll = 0;
// Progress on stderr every 5 s: acked batches of all edges, and the cloud's committed count.
const progress = setInterval(async () => {
  const text = await (await fetch(`http://127.0.0.1:${(await cloud.ready).httpPort}/metrics`)).text();
  const committed = /^cloud_batches_total\{result="committed"\} (\S+)$/m.exec(text)?.[1];
  process.stderr.write(`acked ${ackedAll}/${EDGES * BATCHES} batches, cloud committed ${committed}\n`);
}, 5_000);
await Promise.all(
  clients.map(
    (client, k) =>
      new Promise((resolve) => {
        let next = 0;
        let acked = 0;
        const send = () => client.publish(topics.batch(edgeIds[k]), encoded[k][next++], { qos: 1 });
        client.on('message', (_topic, payload) => {
          const n = decodeAck(payload).acked.length;
          acked += n;
          ackedAll += n;
          if (acked >= BATCHES) resolve();
          else if (next < BATCHES) send();
        });
        for (let i = 0; i < Math.min(WINDOW, BATCHES); i++) send();
      }),
  ),
);
const cloudSeconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(progress);
const stored = await influxd.countReadings('village');
const cloudRate = Math.round(stored / cloudSeconds);
const metrics = await (await fetch(`http://127.0.0.1:${(await cloud.ready).httpPort}/metrics`)).text();
const groups = (suffix) =>
  Number(new RegExp(`^cloud_commit_group_batches_${suffix} (\\S+)$`, 'm').exec(metrics)?.[1]);
out({
  phase: 'cloud',
  rules: opt.rules,
  edges: EDGES,
  batches: EDGES * BATCHES,
  readings_per_batch: SIZE,
  window: WINDOW,
  readings: stored,
  expected: total,
  seconds: Number(cloudSeconds.toFixed(3)),
  readings_per_s: cloudRate,
  batches_per_group: Number((groups('sum') / groups('count')).toFixed(1)),
  cloud_peak_rss_mb: peakRssMb(cloud.child.pid),
});
await Promise.all(clients.map((c) => c.endAsync()));
const [shown] = await influxd.query('SHOW MEASUREMENTS', 'village');
const measurement = shown.series[0].values[0][0];
await stopAll();

// --- raw: the same lines, as the cloud's own line protocol writes them ---
const place = { county: 'c1', town: 't1', village: 'v1', station: 's1' };
const lines = batches.flat().flatMap((b) =>
  batchToPoints(
    {
      edgeId: b.edgeId,
      historical: b.historical,
      receivedAt: Date.now(),
      place,
      readings: b.readings,
      events: [],
    },
    () => measurement,
    'events',
  ).map((p) => p.line),
);
const bodies = [];
for (let i = 0; i < lines.length; i += RAW_LINES) bodies.push(lines.slice(i, i + RAW_LINES).join('\n'));
const rawSeconds = await influxd.writeRaw(bodies, 'raw');
const rawReadings = await influxd.countReadings('raw');
const rawRate = Math.round(rawReadings / rawSeconds);
out({
  phase: 'raw',
  readings: rawReadings,
  lines: lines.length,
  lines_per_request: RAW_LINES,
  writers: 2,
  seconds: Number(rawSeconds.toFixed(3)),
  readings_per_s: rawRate,
});
out({
  phase: 'ratio',
  cloud_readings_per_s: cloudRate,
  raw_readings_per_s: rawRate,
  ratio: Number((cloudRate / rawRate).toFixed(3)),
  load_average: Number(loadavg()[0].toFixed(2)),
});
await influxd.stop();
rmSync(dir, { recursive: true, force: true });
