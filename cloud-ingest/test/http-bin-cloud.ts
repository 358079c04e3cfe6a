import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import { stringify } from 'yaml';
import { hashPassword } from '../src/password-hash.js';
import { EDGES, OFFICERS, type Officer, SCOPED_REGISTRY } from './auth-cloud.js';

/**
 * The built village-cloud bin as a child process on loopback, for the HTTP security tests
 * (issue 13): the SCOPED_REGISTRY of auth-cloud.ts (villages vA, vB under town t1, vC under t2)
 * with a siren on each of edge-a and edge-b, and its officers unless `users: false`.
 */
// VILLAGE_CLOUD_BIN runs these tests against another build (e.g. of an older commit, to see them fail there).
export const BIN =
  process.env.VILLAGE_CLOUD_BIN ?? join(import.meta.dirname, '..', 'dist', 'bin', 'village-cloud.js');
export const EDGE_PASSWORD = 'edge-secret';

export interface BinCloud {
  dir: string;
  child: ChildProcess;
  base: string;
  httpPort: number;
  mqttPort: number;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Logs in over HTTP (fetch); returns the response. */
  login(username: string, password: string): Promise<Response>;
  /** Logs in as an officer with the right password; returns `village_session=…`. */
  cookie(who: Officer): Promise<string>;
  stop(): Promise<void>;
}

export interface BinRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

export function spawnBin(args: string[]): BinRun {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: build first (npx tsc -p tsconfig.build.json)`);
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (s: string) => stdout.push(s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exit };
}

export const logLines = (r: BinRun) =>
  r.stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Writes registry.yaml and cloud.yaml (with `extra` merged over the defaults) into `dir`. */
export function writeCloudConfig(
  dir: string,
  opts: { users?: boolean; extra?: Record<string, unknown> } = {},
) {
  writeFileSync(
    join(dir, 'registry.yaml'),
    stringify({
      ...SCOPED_REGISTRY,
      devices: [
        { id: 'siren-a', edge: 'edge-a', kind: 'siren', driver: 'modbus' },
        { id: 'siren-b', edge: 'edge-b', kind: 'siren', driver: 'modbus' },
      ],
    }),
  );
  const edgeHash = hashPassword(EDGE_PASSWORD);
  const users =
    opts.users === false
      ? undefined
      : Object.entries(OFFICERS).map(([username, [role, place, password]]) => ({
          username,
          passwordHash: hashPassword(password),
          role,
          ...(place ? { place } : {}),
          name: `${role} officer ${username}`,
        }));
  const { http, ...rest } = opts.extra ?? {};
  const path = join(dir, 'cloud.yaml');
  writeFileSync(
    path,
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0, ...(http as object) },
      edges: EDGES.map((id) => ({ id, passwordHash: edgeHash })),
      log: { level: 'info' },
      ...(users ? { users } : {}),
      ...rest,
    }),
  );
  return path;
}

export async function startBinCloud(
  opts: { users?: boolean; extra?: Record<string, unknown>; scheme?: 'http' | 'https'; dir?: string } = {},
): Promise<BinCloud> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cloud-http-'));
  const run = spawnBin(['--config', writeCloudConfig(dir, opts)]);
  const exited = run.exit.then((code) => {
    throw new Error(`village-cloud exited ${code} before ready: ${run.stderr.join('')}`);
  });
  exited.catch(() => {});
  const ready = await Promise.race([
    waitFor('cloud ready', () => logLines(run).find((l) => l.msg === 'cloud ready')),
    exited,
  ]);
  const httpPort = ready.httpPort as number;
  const base = `${opts.scheme ?? 'http'}://127.0.0.1:${httpPort}`;
  const t: BinCloud = {
    dir,
    child: run.child,
    base,
    httpPort,
    mqttPort: ready.mqttPort as number,
    logs: () => logLines(run),
    login: (username, password) =>
      fetch(`${base}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      }),
    async cookie(who) {
      const res = await t.login(who, OFFICERS[who][2]);
      if (res.status !== 200) throw new Error(`login ${who}: ${res.status} ${await res.text()}`);
      return res.headers.get('set-cookie')!.split(';')[0]!;
    },
    async stop() {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        process.kill(-run.child.pid!, 'SIGTERM');
        const kill = setTimeout(() => process.kill(-run.child.pid!, 'SIGKILL'), 10_000);
        await run.exit;
        clearTimeout(kill);
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
