#!/usr/bin/env node
// Cloud ingest throughput: runs the built `village-cloud` bin as a child process (embedded broker +
// SQLite sink), publishes pre-encoded batches over MQTT as one edge with a window of batches in
// flight, and reports readings/s committed (time from the first publish to the last cloud ack).
// Usage: node bench/cloud-ingest-throughput.mjs [--batches 200] [--size 5000] [--window 8]
// Prints JSON lines. Needs: npm run build (protocol and cloud-ingest dist).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAck, encodeBatch, topics } from '@village/protocol';
import mqtt from 'mqtt';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '200' },
    size: { type: 'string', default: '5000' },
    window: { type: 'string', default: '8' },
  },
});
const BATCHES = Number(opt.batches);
const SIZE = Number(opt.size);
const WINDOW = Number(opt.window);
const BIN = join(import.meta.dirname, '..', 'cloud-ingest', 'dist', 'bin', 'village-cloud.js');
const EDGE = 'bench-edge';
const PASSWORD = 'bench-password';

const dir = mkdtempSync(join(tmpdir(), 'cloud-bench-'));
const hash = spawnSync(process.execPath, [BIN, 'hash-password'], {
  input: PASSWORD,
  encoding: 'utf8',
}).stdout.trim();
// log level info: the ports come from the "cloud ready" line; per-batch lines are debug, so not printed.
writeFileSync(
  join(dir, 'cloud.yaml'),
  `dataDir: ./data\nmqtt: { port: 0 }\nhttp: { port: 0 }\nlog: { level: info }\nedges:\n  - id: ${EDGE}\n    passwordHash: "${hash}"\n`,
);

// 50 devices x 4 metrics, one reading per series per second: a village station's typical mix.
function makeBatch(seq) {
  const readings = [];
  const t0 = Date.UTC(2026, 0, 1) + seq * 1_000_000;
  for (let i = 0; i < SIZE; i++) {
    const series = i % 200;
    readings.push({
      device: `dev-${series >> 2}`,
      metric: ['pm25', 'pm10', 'temp', 'rh'][series & 3],
      value: Math.round((20 + Math.sin(i) * 10) * 10) / 10,
      unit: ['µg/m³', 'µg/m³', '°C', '%'][series & 3],
      ts: t0 + Math.floor(i / 200) * 1000,
      quality: 'good',
    });
  }
  return encodeBatch({
    edgeId: EDGE,
    seq,
    boot: 1,
    createdAt: Date.now(),
    historical: false,
    readings,
    events: [],
  });
}

const encoded = Array.from({ length: BATCHES }, (_, i) => Buffer.from(makeBatch(i + 1)));
const bytes = encoded.reduce((s, b) => s + b.length, 0);

const cloud = spawn(process.execPath, [BIN, '--config', join(dir, 'cloud.yaml')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ready = await new Promise((resolve, reject) => {
  let buf = '';
  cloud.stdout.on('data', (d) => {
    buf += d;
    for (const line of buf.split('\n')) {
      if (line.includes('"cloud ready"')) resolve(JSON.parse(line));
    }
  });
  cloud.once('exit', (code) => reject(new Error(`cloud exited ${code}`)));
});

const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqttPort}`, {
  protocolVersion: 4,
  username: EDGE,
  password: PASSWORD,
  reconnectPeriod: 0,
});
await client.subscribeAsync(topics.ack(EDGE), { qos: 1 });

const started = process.hrtime.bigint();
let next = 0;
let acked = 0;
await new Promise((resolve) => {
  const send = () => {
    const i = next++;
    client.publish(topics.batch(EDGE), encoded[i], { qos: 1 });
  };
  client.on('message', (_topic, payload) => {
    acked += decodeAck(payload).acked.length;
    if (acked === BATCHES) resolve();
    else if (next < BATCHES) send();
  });
  for (let i = 0; i < Math.min(WINDOW, BATCHES); i++) send();
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

const metrics = await (await fetch(`http://127.0.0.1:${ready.httpPort}/metrics`)).text();
const written = Number(/^cloud_readings_written_total (\d+)/m.exec(metrics)?.[1]);
console.log(
  JSON.stringify({
    bench: 'cloud-ingest-throughput',
    batches: BATCHES,
    readingsPerBatch: SIZE,
    window: WINDOW,
    readings: BATCHES * SIZE,
    readingsWrittenMetric: written,
    bytesPerReading: Number((bytes / (BATCHES * SIZE)).toFixed(2)),
    seconds: Number(seconds.toFixed(3)),
    readingsPerS: Math.round((BATCHES * SIZE) / seconds),
    sqliteSynchronous: 'FULL',
  }),
);
await client.endAsync();
cloud.kill('SIGTERM');
await new Promise((resolve) => cloud.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
