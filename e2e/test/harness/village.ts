import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchMetrics, freePort, waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { CLOUD_BIN, EDGE_BIN, type Proc, startProc } from './processes.js';

export interface FakeDriverConfig {
  devices: number;
  intervalMs: number;
  limit?: number;
  eventEveryMs?: number;
  metrics?: { name: string; unit: string; min?: number; max?: number }[];
}

/**
 * One cloud and one edge as real child processes of the built bins, with their data in a temp
 * folder. Logs go to `<dir>/*.log`; CI keeps them when KEEP_E2E_DIRS is set.
 */
export async function createVillage(
  name: string,
  /** Extra top-level keys of cloud.yaml (e.g. `rules`, `notify`) and registry.yaml (e.g. `people`). */
  extra: {
    cloud?: Record<string, unknown>;
    registry?: Record<string, unknown>;
    /** Broker URL the edge connects to (default: the cloud's embedded broker), and its password there. */
    edgeUrl?: string;
    edgePassword?: string;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), `e2e-${name}-`));
  const password = extra.edgePassword ?? `pw-${Math.random().toString(36).slice(2)}`;
  const hashRun = spawnSync(process.execPath, [CLOUD_BIN, 'hash-password'], {
    input: `${password}\n`,
    encoding: 'utf8',
  });
  if (hashRun.status !== 0) throw new Error(`hash-password failed: ${hashRun.stderr}`);
  const passwordHash = hashRun.stdout.trim();
  const mqttPort = await freePort();
  const cloudDir = join(dir, 'cloud');
  const edgeDir = join(dir, 'edge');
  mkdirSync(cloudDir, { recursive: true });
  mkdirSync(edgeDir, { recursive: true });

  writeFileSync(
    join(cloudDir, 'registry.yaml'),
    stringify({
      counties: [
        {
          id: 'c1',
          name: 'County',
          towns: [
            {
              id: 't1',
              name: 'Town',
              villages: [
                { id: 'v1', name: 'Village', stations: [{ id: 's1', name: 'Station', edges: ['edge-1'] }] },
              ],
            },
          ],
        },
      ],
      ...extra.registry,
    }),
  );
  const cloudConfig = join(cloudDir, 'cloud.yaml');
  writeFileSync(
    cloudConfig,
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { host: '127.0.0.1', port: mqttPort },
      http: { host: '127.0.0.1', port: 0 },
      edges: [{ id: 'edge-1', passwordHash }],
      log: { level: 'info' },
      ...extra.cloud,
    }),
  );

  let cloud: Proc | undefined;
  let edge: Proc | undefined;
  let httpPort = 0;
  let healthPort = 0;

  const v = {
    dir,
    mqttPort,
    get cloud() {
      return cloud;
    },
    get edge() {
      return edge;
    },
    get httpPort() {
      return httpPort;
    },
    get healthPort() {
      return healthPort;
    },
    cloudDb: join(cloudDir, 'data', 'cloud.db'),
    edgeDb: join(edgeDir, 'data', 'outbox.db'),

    async startCloud() {
      cloud = startProc(CLOUD_BIN, ['--config', cloudConfig], join(dir, 'cloud.log'));
      const ready = await cloud.line((l) => l.msg === 'cloud ready');
      httpPort = ready.httpPort as number;
      return cloud;
    },

    /** Starts the edge with the fake driver (a config object) or with an explicit `drivers:` list. */
    async startEdge(
      fake: FakeDriverConfig | Record<string, unknown>[],
      outbox: Record<string, unknown> = {},
      /** Overrides of the edge's `cloud:` section (window, ackTimeoutMs, ...). */
      uplink: Record<string, unknown> = {},
    ) {
      const drivers = Array.isArray(fake) ? fake : [{ kind: 'fake', id: 'fake', prefix: 'dev-', ...fake }];
      const edgeConfig = join(edgeDir, 'edge.yaml');
      writeFileSync(
        edgeConfig,
        stringify({
          edgeId: 'edge-1',
          dataDir: './data',
          cloud: {
            url: extra.edgeUrl ?? `mqtt://127.0.0.1:${mqttPort}`,
            password: '${EDGE_PASSWORD}',
            ackTimeoutMs: 5_000,
            reconnectMinMs: 100,
            reconnectMaxMs: 1_000,
            ...uplink,
          },
          outbox: { batchMaxAgeMs: 200, synchronous: 'normal', ...outbox },
          health: { host: '127.0.0.1', port: 0 },
          drivers,
        }),
      );
      edge = startProc(EDGE_BIN, ['--config', edgeConfig], join(dir, 'edge.log'), {
        EDGE_PASSWORD: password,
      });
      const ready = await edge.line((l) => l.msg === 'edge ready');
      healthPort = ready.healthPort as number;
      return edge;
    },

    /** Starts the edge again with the config it last ran with (same data folder). */
    async restartEdge() {
      edge = startProc(EDGE_BIN, ['--config', join(edgeDir, 'edge.yaml')], join(dir, 'edge.log'), {
        EDGE_PASSWORD: password,
      });
      healthPort = (await edge.line((l) => l.msg === 'edge ready')).healthPort as number;
      return edge;
    },

    /** Waits until the edge accepted `readings` in all and its outbox is empty (every one acked). */
    async allAcked(readings: number, timeoutMs: number): Promise<void> {
      await waitFor(
        'every reading accepted and acked',
        async () => {
          const m = await v.edgeMetrics();
          return (
            m.get('edge_readings_accepted_total') === readings && m.get('edge_outbox_depth_readings') === 0
          );
        },
        { timeoutMs, intervalMs: 500 },
      );
    },

    /** Prometheus text of the edge, as name{labels} → value. */
    edgeMetrics(): Promise<Map<string, number>> {
      return fetchMetrics(`http://127.0.0.1:${healthPort}/metrics`);
    },

    /** Read-only look into the cloud's SQLite sink (WAL lets us read while it writes). */
    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(v.cloudDb, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },

    api<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
      return fetch(`http://127.0.0.1:${httpPort}${path}`, init).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as T,
      }));
    },

    storedCount(): number {
      try {
        return v.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings')[0]!.n;
      } catch {
        return 0;
      }
    },

    async cleanup() {
      await edge?.stop();
      await cloud?.stop();
      if (!process.env.KEEP_E2E_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
  return v;
}

export type Village = Awaited<ReturnType<typeof createVillage>>;

/** Every stored reading's identity, `device|metric|ts`. */
export function storedKeys(v: Village): Set<string> {
  return new Set(
    v
      .query<{ k: string }>(
        "SELECT s.device || '|' || s.metric || '|' || r.ts AS k FROM readings r JOIN series s ON s.id = r.series_id",
      )
      .map((r) => r.k),
  );
}
