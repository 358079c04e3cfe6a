// What the end-to-end benches share: the built bins, a one-station cloud config, starting a bin
// and waiting for its ready line, and reading a process's peak RSS.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

const root = join(import.meta.dirname, '..');
export const CLOUD = join(root, 'cloud-ingest/dist/bin/village-cloud.js');
export const EDGE = join(root, 'edge-agent/dist/bin/village-edge.js');

/**
 * The fake driver's metrics for a station's benches: a station's air and noise readings, each in
 * its real unit (a reading without one is flagged by quality control, which is then most of what
 * a bench measures).
 */
export const STATION_METRICS = [
  { name: 'pm2_5', unit: 'µg/m³' },
  { name: 'pm10', unit: 'µg/m³' },
  { name: 'temperature', unit: '°C' },
  { name: 'humidity', unit: '%' },
  { name: 'noise', unit: 'dB' },
];

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

/**
 * Writes `<dir>/cloud/{registry,cloud}.yaml` for one county/town/village/station served by
 * `edge-1` with `password` (or by `edges`, `[{ id, passwordHash }]`, e.g. a fleet), plus any
 * extra cloud.yaml sections; returns the cloud.yaml path.
 */
export function writeOneStationCloud(dir, { mqttPort, password, edges, extra = {} }) {
  edges ??= [
    {
      id: 'edge-1',
      passwordHash: spawnSync(process.execPath, [CLOUD, 'hash-password'], {
        input: password,
        encoding: 'utf8',
      }).stdout.trim(),
    },
  ];
  mkdirSync(join(dir, 'cloud'), { recursive: true });
  const station = { id: 's1', name: 'S', edges: edges.map((e) => e.id) };
  const village = { id: 'v1', name: 'V', stations: [station] };
  writeFileSync(
    join(dir, 'cloud/registry.yaml'),
    stringify({ counties: [{ id: 'c1', name: 'C', towns: [{ id: 't1', name: 'T', villages: [village] }] }] }),
  );
  const path = join(dir, 'cloud/cloud.yaml');
  writeFileSync(
    path,
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { host: '127.0.0.1', port: mqttPort },
      http: { host: '127.0.0.1', port: 0 },
      edges,
      log: { level: 'info' },
      ...extra,
    }),
  );
  return path;
}

const started = [];
let stopping = false;

/**
 * Starts a bin (`node [flags] bin --config cfg`); `ready` resolves with its `readyMsg` log line.
 * Error log lines go to stderr; `logged` counts its log lines by message. A process that dies before `stopAll()` ends the bench with exit
 * code 1, so a wait loop never hangs on a dead peer.
 */
export function startBin(bin, cfg, readyMsg, flags = []) {
  const child = spawn(process.execPath, [...flags, bin, '--config', cfg], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(child);
  // Lines logged, by message: a log line per batch is a cost the benches should show.
  const logged = new Map();
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (/"level":"(error|fatal)"/.test(l)) process.stderr.write(`${l}\n`);
      try {
        const j = JSON.parse(l);
        logged.set(j.msg, (logged.get(j.msg) ?? 0) + 1);
        if (j.msg === readyMsg) resolve(j);
      } catch {}
    });
    child.once('exit', (c) => reject(new Error(`${bin} exited ${c}`)));
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${bin} exited (${code ?? signal}) during the bench\n`);
      process.exit(1);
    }
  });
  return { child, ready, logged };
}

/** SIGTERM to every bin started, and wait until they are gone. */
export async function stopAll() {
  stopping = true;
  await Promise.all(
    started.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** Peak resident set size of a live process, MB (VmHWM). */
/** CPU time process `pid` used so far, in clock ticks (1/100 s here): user plus system. */
export function cpuTicks(pid) {
  // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

export const peakRssMb = (pid) =>
  Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
