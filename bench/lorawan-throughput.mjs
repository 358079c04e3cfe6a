#!/usr/bin/env node
// LoRaWAN throughput: simulated Semtech UDP gateways → real UDP socket on 127.0.0.1 → the LoRaWAN
// driver (dedup, MIC, FCnt, decrypt, codec) → decoded readings handed to the DriverContext.
// Devices are ABP with real encrypted frames; at most --window uplinks are in flight (sent but
// not yet decoded), so the figure is what the driver sustains, not how fast UDP drops.
//   node bench/lorawan-throughput.mjs [--uplinks 20000] [--devices 500] [--gateways 1] [--window 2000] [--dedup-ms 200]
// Prints JSON lines. Build first: device-drivers and simulators (`npx tsc -p tsconfig.build.json` in each).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLorawanDriver } from '@village/device-drivers/lorawan';
import { startLorawanSimulation } from '../simulators/dist/lorawan/index.js';

const { values: opt } = parseArgs({
  options: {
    uplinks: { type: 'string', default: '20000' },
    devices: { type: 'string', default: '500' },
    gateways: { type: 'string', default: '1' },
    window: { type: 'string', default: '2000' },
    'dedup-ms': { type: 'string', default: '200' },
  },
});
const UPLINKS = Number(opt.uplinks);
const DEVICES = Number(opt.devices);
const GATEWAYS = Number(opt.gateways);
const WINDOW = Number(opt.window);
const DEDUP_MS = Number(opt['dedup-ms']);
const hex = (n, w) => n.toString(16).padStart(w, '0');
const codecs = ['cayenne', 'wristband', 'lora-pm25'];
const devices = Array.from({ length: DEVICES }, (_, i) => ({
  id: `bench-${i}`,
  devEui: `70b3d57e${hex(i, 8)}`,
  codec: codecs[i % 3],
  activation: 'abp',
  devAddr: `02${hex(i, 6)}`,
  nwkSKey: `${hex(i, 8)}2b7e151628aed2a6abf71588`,
  appSKey: `${hex(i, 8)}3c4fcf098815f7aba6d2ae28`,
}));
const gatewayEuis = Array.from({ length: GATEWAYS }, (_, i) => `aa555a00000000${hex(i, 2)}`);

const dataDir = mkdtempSync(join(tmpdir(), 'lorawan-bench-'));
let decoded = 0;
let readings = 0;
const errors = {};
const ctx = {
  id: 'bench',
  async emitReadings(r) {
    readings += r.length;
  },
  async emitEvent() {},
  countError(reason) {
    errors[reason] = (errors[reason] ?? 0) + 1;
  },
  log: { debug() {}, info() {}, warn() {}, error() {} },
  now: () => Date.now(),
  dataDir,
  signal: new AbortController().signal,
  fail(err) {
    console.error(err);
  },
};

const driver = createLorawanDriver(
  {
    port: 0,
    bind: '127.0.0.1',
    gateways: gatewayEuis.map((eui) => ({ eui })),
    dedupWindowMs: DEDUP_MS,
    devices,
  },
  { onUplink: () => decoded++ },
);
await driver.start(ctx);
const sim = await startLorawanSimulation({ serverPort: driver.port(), gatewayEuis, devices });

const tick = () => new Promise((r) => setImmediate(r));
const started = performance.now();
let sent = 0;
let lastProgress = performance.now();
let lastDecoded = 0;
while (decoded < sent || sent < UPLINKS) {
  while (sent < UPLINKS && sent - decoded < WINDOW) {
    sim.sendSample(devices[sent % DEVICES].id);
    sent++;
    if (sent % 200 === 0) break; // let the driver read its socket
  }
  await tick();
  if (decoded !== lastDecoded) {
    lastDecoded = decoded;
    lastProgress = performance.now();
  } else if (performance.now() - lastProgress > 5000) {
    break; // UDP drops: stop waiting for frames that will never arrive
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    bench: 'lorawan-throughput',
    uplinks: UPLINKS,
    decoded,
    lost: sent - decoded,
    devices: DEVICES,
    gateways: GATEWAYS,
    dedupWindowMs: DEDUP_MS,
    seconds: Number(seconds.toFixed(2)),
    uplinksPerSecond: Math.round(decoded / seconds),
    readingsPerSecond: Math.round(readings / seconds),
    duplicatesMerged: driver.status().duplicatesMerged,
    errors,
  }),
);
await sim.stop();
await driver.stop();
rmSync(dataDir, { recursive: true, force: true });
