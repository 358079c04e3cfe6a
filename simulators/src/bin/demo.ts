#!/usr/bin/env node
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { stringify } from 'yaml';

/**
 * The one-command demo: a cloud (embedded broker, SQLite) and village edges fed by simulated
 * devices, as real child processes. Ctrl-C stops every process it started.
 * It spawns the cloud and edge bins; it imports neither (DESIGN.md: simulators reach them only on the wire).
 */
const program = new Command()
  .name('village-demo')
  .description('Start a cloud and two village edges with simulated devices; print the URLs.')
  .option('-d, --dir <dir>', 'folder for the demo data and configs', '.demo')
  .option('--http-port <port>', 'cloud HTTP port (0 = any free port)', '8080')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();
const opts = program.opts<{ dir: string; httpPort: string }>();

const repo = resolve(import.meta.dirname, '..', '..', '..');
const CLOUD = join(repo, 'cloud-ingest', 'dist', 'bin', 'village-cloud.js');
const EDGE = join(repo, 'edge-agent', 'dist', 'bin', 'village-edge.js');
const dir = resolve(opts.dir);
const children: ChildProcess[] = [];

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
        if (j.level !== undefined && (j.level as number) >= 50) process.stderr.write(`${name}: ${line}\n`);
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
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const villages = [
  { edge: 'edge-v1', village: 'v1', name: '东风村', station: 's1' },
  { edge: 'edge-v2', village: 'v2', name: '红旗村', station: 's2' },
];
mkdirSync(join(dir, 'cloud'), { recursive: true });
const mqttPort = await freePort(1883);
const httpPort = await freePort(Number(opts.httpPort));
const passwords = new Map(villages.map((v) => [v.edge, randomBytes(12).toString('base64url')]));
const hash = (pw: string) =>
  spawnSync(process.execPath, [CLOUD, 'hash-password'], { input: pw, encoding: 'utf8' }).stdout.trim();

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
            villages: villages.map((v) => ({
              id: v.village,
              name: v.name,
              stations: [{ id: v.station, name: `${v.name}村委会`, edges: [v.edge] }],
            })),
          },
        ],
      },
    ],
  }),
);
writeFileSync(
  join(dir, 'cloud', 'cloud.yaml'),
  stringify({
    dataDir: './data',
    registry: './registry.yaml',
    mqtt: { host: '127.0.0.1', port: mqttPort },
    http: { host: '127.0.0.1', port: httpPort },
    edges: villages.map((v) => ({ id: v.edge, passwordHash: hash(passwords.get(v.edge)!) })),
    log: { level: 'info' },
  }),
);
const cloudReady = await start('cloud', CLOUD, join(dir, 'cloud', 'cloud.yaml'), {}, 'cloud ready');

for (const [i, v] of villages.entries()) {
  const edgeDir = join(dir, v.edge);
  mkdirSync(edgeDir, { recursive: true });
  writeFileSync(
    join(edgeDir, 'edge.yaml'),
    stringify({
      edgeId: v.edge,
      dataDir: './data',
      cloud: { url: `mqtt://127.0.0.1:${mqttPort}`, password: '${VILLAGE_EDGE_PASSWORD}' },
      health: { host: '127.0.0.1', port: 0 },
      drivers: [
        {
          kind: 'fake',
          id: 'sensors',
          prefix: `${v.village}-sensor-`,
          devices: 5 + i * 3,
          intervalMs: 2_000,
        },
      ],
    }),
  );
  const ready = await start(
    v.edge,
    EDGE,
    join(edgeDir, 'edge.yaml'),
    { VILLAGE_EDGE_PASSWORD: passwords.get(v.edge) },
    'edge ready',
  );
  process.stdout.write(`${v.edge} (${v.name}): health http://127.0.0.1:${ready.healthPort}/health\n`);
}
const api = `http://127.0.0.1:${cloudReady.httpPort}`;
process.stdout.write(
  `\nVillage telemetry demo is running (data in ${dir}).\n` +
    `  API:       ${api}/api/v1/latest\n` +
    `  devices:   ${api}/api/v1/devices\n` +
    `  metrics:   ${api}/metrics\n` +
    'Press Ctrl-C to stop.\n',
);
