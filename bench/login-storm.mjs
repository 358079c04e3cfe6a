// An edge's MQTT CONNECT latency while 1,000 bad logins hit the API at once (issue 13 finding 5).
// Both check passwords with scrypt on Node's 4-thread libuv pool; before the login cap, the storm
// filled the pool and the edge's CONNECT waited behind it. Prints JSON lines:
//   {"phase":"idle",...}  CONNECT latency with no load (ms: median, p95, max)
//   {"phase":"storm",...} CONNECT latency while the storm runs, and the storm's answers by status
// Usage: node bench/login-storm.mjs [--logins 1000] [--idle 10]   (build first: npx turbo run build)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { CLOUD, freePort, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const { values } = parseArgs({
  options: { logins: { type: 'string', default: '1000' }, idle: { type: 'string', default: '10' } },
});
const LOGINS = Number(values.logins);
const IDLE_CONNECTS = Number(values.idle);
const PASSWORD = 'edge-bench-secret';
const CONNECT_TIMEOUT_MS = 30_000;
const STORM_CHILD = join(import.meta.dirname, 'login-storm-client.mjs');

const dir = mkdtempSync(join(tmpdir(), 'bench-login-storm-'));
const mqttPort = await freePort();
const officerHash = spawnSync(process.execPath, [CLOUD, 'hash-password'], {
  input: 'officer-right-password',
  encoding: 'utf8',
}).stdout.trim();
const cfg = writeOneStationCloud(dir, {
  mqttPort,
  password: PASSWORD,
  extra: {
    log: { level: 'info' },
    users: [{ username: 'officer', passwordHash: officerHash, role: 'admin', name: 'Bench officer' }],
  },
});
const cloud = startBin(CLOUD, cfg, 'cloud ready');
const { httpPort } = await cloud.ready;

/** One edge CONNECT (clean session, real credentials): ms until CONNACK, or null on timeout/refusal. */
function connectOnce() {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, {
      protocolVersion: 4,
      username: 'edge-1',
      password: PASSWORD,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
    const finish = (ms) => {
      client.end(true);
      resolve(ms);
    };
    client.once('connect', () => finish(performance.now() - t0));
    client.once('error', () => finish(null));
    client.once('close', () => finish(null));
  });
}

const summary = (samples) => {
  const ok = samples.filter((s) => s !== null).sort((a, b) => a - b);
  const at = (q) => (ok.length ? Math.round(ok[Math.min(ok.length - 1, Math.floor(q * ok.length))]) : null);
  return {
    n: samples.length,
    failed: samples.length - ok.length,
    medianMs: at(0.5),
    p95Ms: at(0.95),
    maxMs: at(1),
  };
};

const idle = [];
for (let i = 0; i < IDLE_CONNECTS; i++) idle.push(await connectOnce());
console.log(JSON.stringify({ bench: 'login-storm', phase: 'idle', connect: summary(idle) }));

// The storm runs in a child process, so its client work does not delay this process's timing.
const t0 = performance.now();
const stormChild = spawn(process.execPath, [STORM_CHILD, String(httpPort), String(LOGINS)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let stormOut = '';
stormChild.stdout.setEncoding('utf8').on('data', (s) => {
  stormOut += s;
});
let stormDone = false;
const storm = new Promise((resolve) => stormChild.once('exit', resolve)).then(() => {
  stormDone = true;
});
const during = [];
do during.push(await connectOnce());
while (!stormDone);
await storm;
console.log(
  JSON.stringify({
    bench: 'login-storm',
    phase: 'storm',
    logins: LOGINS,
    stormMs: Math.round(performance.now() - t0),
    loginStatuses: JSON.parse(stormOut || '{}'),
    connect: summary(during),
  }),
);
await stopAll();
rmSync(dir, { recursive: true, force: true });
