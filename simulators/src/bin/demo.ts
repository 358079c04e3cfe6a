#!/usr/bin/env node
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { versionLine } from '../build-info.js';
import { progressReporter } from '../replay/progress-reporter.js';
import { type StationEndpoints, playFrames, startModbusGateways } from '../replay/wire-player.js';
import { airBacklog, sendBacklog } from '../scenario/air-backlog.js';
import { edgeDriversFor } from '../scenario/edge-drivers.js';
import { loadScenario } from '../scenario/scenario-load.js';
import { planTraffic } from '../scenario/traffic-plan.js';
import { type UplinkRelay, startUplinkRelay } from '../scenario/uplink-relay.js';

/**
 * The one-command demo: a cloud (embedded broker, SQLite, rules, a demo officer login) and one
 * edge per scenario station, as real child processes, with every device of the demo scenario
 * simulated on the wire (Modbus TCP, LoRaWAN through a Semtech gateway, NB-IoT CoAP, ISAPI
 * cameras) through the real drivers. Each edge reaches the cloud through a relay the scenario
 * cuts during its outage. Ctrl-C stops every process it started.
 * It spawns the cloud and edge bins; it imports neither (DESIGN.md: simulators reach them only on the wire).
 */
const program = new Command()
  .name('village-demo')
  .description('Start a cloud and the village edges of a scenario with simulated devices; print the URLs.')
  .version(versionLine('village-demo'), '-V, --version', 'print the version and git commit')
  .option('-d, --dir <dir>', 'folder for the demo data and configs (emptied at start)', '.demo')
  .option('--keep', 'continue the last demo: keep the data in --dir instead of starting clean')
  .option('--http-port <port>', 'cloud HTTP port (0 = any free port)', '8080')
  .option(
    '--scenario <file>',
    'scenario YAML',
    join(import.meta.dirname, '..', '..', 'scenarios', 'demo.yaml'),
  )
  .option('--compression <n>', 'scenario ms per wall ms (default: the scenario’s, a day in two minutes)')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();
const opts = program.opts<{
  dir: string;
  httpPort: string;
  scenario: string;
  compression?: string;
  keep?: boolean;
}>();

function usage(message: string): never {
  process.stderr.write(`village-demo: ${message}\n`);
  process.exit(2);
}
if (!/^\d{1,5}$/.test(opts.httpPort) || Number(opts.httpPort) > 65_535) {
  usage(`--http-port ${opts.httpPort}: must be a port number 0-65535 (0 = any free port)`);
}

const repo = resolve(import.meta.dirname, '..', '..', '..');
const CLOUD = join(repo, 'cloud-ingest', 'dist', 'bin', 'village-cloud.js');
const EDGE = join(repo, 'edge-agent', 'dist', 'bin', 'village-edge.js');
const dir = resolve(opts.dir);
const children: ChildProcess[] = [];
const relays: UplinkRelay[] = [];
const abort = new AbortController();

function freePort(preferred = 0): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(freePort(0)));
    s.listen(preferred, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function start(name: string, bin: string, config: string, env: NodeJS.ProcessEnv, ready: string) {
  const child = spawn(process.execPath, [bin, '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${code ?? signal}); stopping the demo\n`);
      void stop(1);
    }
  });
  return new Promise<Record<string, unknown>>((res) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.msg === ready) res(j);
        if (j.level === 'error' || j.level === 'fatal') process.stderr.write(`${name}: ${line}\n`);
      } catch {
        process.stdout.write(`${name}: ${line}\n`);
      }
    });
  });
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  abort.abort();
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          c.once('exit', () => res());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await Promise.all(relays.map((r) => r.stop()));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const scenario = loadScenario(opts.scenario);
const compression = opts.compression === undefined ? scenario.compression : Number(opts.compression);
if (!(compression > 0)) {
  process.stderr.write(`--compression ${opts.compression}: must be a positive number\n`);
  process.exit(2);
}
const hash = (pw: string) => {
  const r = spawnSync(process.execPath, [CLOUD, 'hash-password'], { input: `${pw}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`village-cloud hash-password failed: ${r.stderr}`);
  return r.stdout.trim();
};

/**
 * A fresh folder every run unless --keep: the edges' state (device frame counters, outbox seqs)
 * would otherwise outlive the simulators, which start again from zero, and the second run would
 * end in replay errors. Only a folder a demo made (or an empty one) is emptied.
 */
function cleanDemoDir(): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  if (!existsSync(join(dir, 'cloud', 'cloud.yaml'))) {
    usage(`--dir ${dir}: not a demo folder (no cloud/cloud.yaml), not emptying it; pick another --dir`);
  }
  const pids = join(dir, 'demo-pids.json');
  if (existsSync(pids)) {
    const { demo } = JSON.parse(readFileSync(pids, 'utf8')) as { demo?: number };
    if (demo !== undefined && demo !== process.pid && isAlive(demo)) {
      process.stderr.write(
        `village-demo: a demo (pid ${demo}) is still running from ${dir}; stop it first\n`,
      );
      process.exit(1);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
if (!opts.keep) cleanDemoDir();

const villageOf = (i: number) => `v${i + 1}`;
const VILLAGE_NAMES = ['东风村', '红旗村', '向阳村', '光明村'];
mkdirSync(join(dir, 'cloud'), { recursive: true });
const mqttPort = await freePort(1883);
const httpPort = await freePort(Number(opts.httpPort));
const passwords = new Map(scenario.stations.map((s) => [s.edge, randomBytes(12).toString('base64url')]));
const officerPassword = randomBytes(9).toString('base64url');

writeFileSync(
  join(dir, 'cloud', 'registry.yaml'),
  stringify({
    counties: [
      {
        id: 'c1',
        name: '示例县',
        towns: [
          {
            id: 't1',
            name: '示例镇',
            villages: scenario.stations.map((s, i) => ({
              id: villageOf(i),
              name: VILLAGE_NAMES[i % VILLAGE_NAMES.length],
              stations: [
                { id: s.id, name: `${VILLAGE_NAMES[i % VILLAGE_NAMES.length]}村委会`, edges: [s.edge] },
              ],
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
      livesAlone: p.livesAlone,
      heartRate: [p.heartRate[0] - 10, p.heartRate[1] + 20],
      // The registry knows each band's rhythm, so silence is judged on it from the first report.
      reportIntervalMs: p.wristband.every,
      // The first person living alone naps after lunch (午休): that stillness is not inactivity.
      ...(p === scenario.people.find((q) => q.livesAlone) ? { quiet: [{ from: '12:30', to: '14:00' }] } : {}),
    })),
  }),
);
writeFileSync(
  join(dir, 'cloud', 'cloud.yaml'),
  stringify({
    dataDir: './data',
    registry: './registry.yaml',
    mqtt: { host: '127.0.0.1', port: mqttPort },
    http: { host: '127.0.0.1', port: httpPort },
    edges: scenario.stations.map((s) => ({ id: s.edge, passwordHash: hash(passwords.get(s.edge)!) })),
    users: [
      {
        username: 'officer',
        passwordHash: hash(officerPassword),
        role: 'county',
        place: 'c1',
        name: '值班员',
      },
    ],
    rules: {
      // A PM2.5 hour above 150 µg/m³ is "heavily polluted" territory (HJ 633 IAQI 200); clear under 115.
      thresholds: [
        {
          id: 'pm25-high',
          metric: 'pm2_5',
          direction: 'above',
          level: 150,
          clearLevel: 115,
          severity: 'warning',
        },
      ],
      // The bands report every 10 scenario minutes; silence is judged on that rhythm (× the
      // default factor 3): each person's reportIntervalMs in registry.yaml, this as the fallback.
      elderCare: { reportIntervalMs: 600_000 },
      // The simulated past hours (below) are published within seconds, not at the next minute.
      aqi: { publishEveryMs: 5_000 },
    },
    log: { level: 'info' },
  }),
);
const cloudReady = await start('cloud', CLOUD, join(dir, 'cloud', 'cloud.yaml'), {}, 'cloud ready');

const endpoints: Record<string, StationEndpoints> = {};
for (const s of scenario.stations) {
  const relay = await startUplinkRelay({ targetHost: '127.0.0.1', targetPort: mqttPort });
  relays.push(relay);
  endpoints[s.id] = {
    host: '127.0.0.1',
    lorawan: await freeUdpPort(),
    nbiot: await freeUdpPort(),
    camera: await freePort(),
    modbus: await freePort(),
    relay,
  };
}
// The day is played compressed and stamped now, so no clock hour completes while the demo runs:
// first each station's PM sensors send the last three clock hours as the edge sends backlog after
// an outage (historical), simulated on the scenario's clean-day baseline, so hourly AQI is published.
const backlogFrom = Date.now();
for (const s of scenario.stations)
  await sendBacklog({
    url: `mqtt://127.0.0.1:${mqttPort}`,
    edgeId: s.edge,
    password: passwords.get(s.edge)!,
    readings: airBacklog(scenario, s.id, backlogFrom),
  });
const plan = planTraffic(scenario);
// Modbus gateways first, so the edges' first polls find their devices.
const modbus = await startModbusGateways(plan.frames, endpoints);

for (const s of scenario.stations) {
  const edgeDir = join(dir, s.edge);
  mkdirSync(edgeDir, { recursive: true });
  writeFileSync(
    join(edgeDir, 'edge.yaml'),
    stringify({
      edgeId: s.edge,
      dataDir: './data',
      cloud: {
        url: `mqtt://127.0.0.1:${endpoints[s.id]!.relay!.port}`,
        password: '${VILLAGE_EDGE_PASSWORD}',
        reconnectMinMs: 200,
        reconnectMaxMs: 2_000,
      },
      outbox: { batchMaxAgeMs: 500, synchronous: 'normal' },
      health: { host: '127.0.0.1', port: 0 },
      drivers: edgeDriversFor(scenario, s.id, endpoints[s.id]!, { modbusPollMs: 2_000 }),
    }),
  );
  const ready = await start(
    s.edge,
    EDGE,
    join(edgeDir, 'edge.yaml'),
    { VILLAGE_EDGE_PASSWORD: passwords.get(s.edge) },
    'edge ready',
  );
  process.stdout.write(`${s.edge} (station ${s.id}): health http://127.0.0.1:${ready.healthPort}/health\n`);
}
writeFileSync(
  join(dir, 'demo-pids.json'),
  JSON.stringify({ demo: process.pid, children: children.map((c) => c.pid) }),
);
const url = `http://127.0.0.1:${cloudReady.httpPort}`;
process.stdout.write(
  `\nVillage telemetry demo is running (data in ${dir}).\n` +
    `  dashboard: ${url}/\n` +
    `  login:     officer / ${officerPassword}\n` +
    `  API:       ${url}/api/v1/latest, ${url}/api/v1/alerts, ${url}/api/v1/incidents\n` +
    `  metrics:   ${url}/metrics\n` +
    `Scenario ${scenario.name}: a day in ${Math.round(scenario.duration / compression / 1000)} s ` +
    '(PM2.5 episode 08:00–11:00, a fall at 09:12, an intrusion at 02:30, an uplink outage 10:00–10:20).\n' +
    'Simulated past hours: the PM sensors first sent the last three clock hours as historical backlog, ' +
    `so the hourly AQI is published at once (${url}/api/v1/aqi/hourly).\n` +
    'Press Ctrl-C to stop.\n',
);
const summary = await playFrames(plan.header, plan.frames, {
  endpoints,
  speed: compression,
  modbus,
  progress: progressReporter(process.stderr, { everyMs: process.stderr.isTTY ? 200 : 15_000 }),
  signal: abort.signal,
});
if (!stopping)
  process.stdout.write(
    `Scenario day done: ${summary.sent} frames sent, ${summary.acknowledged} acknowledged, ${summary.errors} errors. ` +
      'The cloud and edges keep running; Ctrl-C to stop.\n',
  );
