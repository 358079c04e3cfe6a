// NB-IoT uplink throughput: CoAP POST (CBOR envelope, HMAC) → MAC check → replay counter
// (SQLite, synchronous=FULL) → codec → readings handed to the context. The context keeps readings
// in memory, so this measures the driver, not the edge outbox. Prints JSON lines.
//
//   node bench/nbiot-throughput.mjs [uplinks=5000] [devices=64] [inFlight=32]  (devices: a multiple of inFlight)
// Needs the built dist: (cd device-drivers && npx tsc -p tsconfig.build.json)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nbSmokeDetector } from '@village/device-drivers/codecs';
import { createNbiotDriver, encodeNbiotUplink, nbiotConfigSchema } from '@village/device-drivers/nbiot';
import coap from 'coap';

const total = Number(process.argv[2] ?? 5000);
const deviceCount = Number(process.argv[3] ?? 64);
const inFlight = Number(process.argv[4] ?? 32);
const keyHex = '5a'.repeat(16);
const key = Buffer.from(keyHex, 'hex');
const devices = Array.from({ length: deviceCount }, (_, i) => ({
  id: `bench-smoke-${i}`,
  imei: String(862000000000000 + i),
  key: keyHex,
  codec: 'smoke-detector',
}));
const dataDir = mkdtempSync(join(tmpdir(), 'nbiot-bench-'));
let readings = 0;
const noop = () => {};
const driver = createNbiotDriver(nbiotConfigSchema.parse({ port: 0, bind: '127.0.0.1', devices }));
await driver.start({
  id: 'bench',
  emitReadings: async (r) => {
    readings += r.length;
  },
  emitEvent: async () => {},
  countError: (reason) => {
    throw new Error(`unexpected error ${reason}`);
  },
  log: { debug: noop, info: noop, warn: noop, error: noop },
  now: () => Date.now(),
  dataDir,
  signal: new AbortController().signal,
  fail: (e) => {
    throw e;
  },
});
const port = driver.port();
const counters = new Array(deviceCount).fill(0);
const payload = nbSmokeDetector.encodeUplink({
  alarm: false,
  self_test: false,
  fault: false,
  smoke_density: 0.12,
  temperature: 21.5,
  battery: 93,
});
const agent = new coap.Agent({ type: 'udp4' });

function uplink(i) {
  const d = i % deviceCount;
  const body = encodeNbiotUplink(key, devices[d].imei, { counter: ++counters[d], payload }, 'cbor');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = coap.request({
      hostname: '127.0.0.1',
      port,
      pathname: `/t/${devices[d].imei}`,
      method: 'POST',
      confirmable: true,
      agent,
    });
    req.setOption('Content-Format', 'application/cbor');
    req.on('response', (res) =>
      res.code === '2.04' ? resolve(performance.now() - t0) : reject(new Error(res.code)),
    );
    req.on('error', reject);
    req.end(Buffer.from(body));
  });
}

// Per-device order matters (counters must increase), so device d's uplinks go out one at a time:
// each worker owns a disjoint set of devices.
const latencies = [];
let next = 0;
const start = performance.now();
async function worker(w) {
  for (;;) {
    const i = next++;
    if (i >= total) return;
    // map the i-th uplink onto a device owned by this worker
    latencies.push(await uplink(w + inFlight * Math.floor(i / inFlight)));
  }
}
const workers = Math.min(inFlight, deviceCount);
if (deviceCount % workers !== 0) throw new Error('devices must be a multiple of inFlight');
await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 100) / 100;
console.log(
  JSON.stringify({
    bench: 'nbiot-throughput',
    uplinks: total,
    devices: deviceCount,
    in_flight: workers,
    seconds: Math.round(seconds * 100) / 100,
    uplinks_per_s: Math.round(total / seconds),
    readings_per_s: Math.round(readings / seconds),
    latency_p50_ms: q(0.5),
    latency_p99_ms: q(0.99),
  }),
);
await driver.stop();
agent.close?.();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
