import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '@village/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { collectAcks, publishBatch, waitForAck } from './cloud-fixture.js';

/**
 * A real cloud with logins on, for the auth, scope and live-stream tests: county c1 has town t1
 * (villages vA, vB) and town t2 (village vC); one edge per village. Officers at each level.
 */
export const SCOPED_REGISTRY = {
  counties: [
    {
      id: 'c1',
      name: '示例县',
      towns: [
        {
          id: 't1',
          name: '东镇',
          villages: [
            { id: 'vA', name: '甲村', stations: [{ id: 'sA', name: '甲村站', edges: ['edge-a'] }] },
            { id: 'vB', name: '乙村', stations: [{ id: 'sB', name: '乙村站', edges: ['edge-b'] }] },
          ],
        },
        {
          id: 't2',
          name: '西镇',
          villages: [{ id: 'vC', name: '丙村', stations: [{ id: 'sC', name: '丙村站', edges: ['edge-c'] }] }],
        },
      ],
    },
  ],
  people: [
    { id: 'p1', name: '张三', station: 'sA', wristband: 'wb-a', livesAlone: true },
    { id: 'p2', name: '李四', station: 'sB', wristband: 'wb-b', livesAlone: false },
  ],
};

export const EDGES = ['edge-a', 'edge-b', 'edge-c'] as const;
const EDGE_PASSWORD = 'edge-secret';

/** username → [role, place, password] */
export const OFFICERS = {
  admin: ['admin', undefined, 'admin-pw'],
  county: ['county', 'c1', 'county-pw'],
  town1: ['town', 't1', 'town1-pw'],
  villageA: ['village', 'vA', 'villageA-pw'],
  villageB: ['village', 'vB', 'villageB-pw'],
} as const;
export type Officer = keyof typeof OFFICERS;

export interface ScopedCloud {
  cloud: RunningCloud;
  base: string;
  logs: Record<string, unknown>[];
  /** Logs in and returns the session cookie (`village_session=…`). */
  login(who: Officer): Promise<string>;
  get(path: string, cookie?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Publishes one batch from the edge over real MQTT and waits for its ack. */
  publish(edge: (typeof EDGES)[number], batch: Batch): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startScopedCloud(
  opts: { users?: boolean; auth?: Record<string, unknown> } = {},
): Promise<ScopedCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'cloud-auth-'));
  writeFileSync(join(dir, 'registry.yaml'), stringify(SCOPED_REGISTRY));
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
  const config = parseConfig(
    {
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { port: 0 },
      http: { port: 0 },
      edges: EDGES.map((id) => ({ id, passwordHash: edgeHash })),
      log: { level: 'debug' },
      ...(users ? { users } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
    },
    dir,
  );
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const clients = new Map<string, { client: MqttClient; acks: Awaited<ReturnType<typeof collectAcks>> }>();
  const edge = async (id: string) => {
    const known = clients.get(id);
    if (known) return known;
    const client = mqtt.connect(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
      protocolVersion: 4,
      clientId: `${id}-${Math.random().toString(16).slice(2, 8)}`,
      username: id,
      password: EDGE_PASSWORD,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const entry = { client, acks: await collectAcks(client, id) };
    clients.set(id, entry);
    return entry;
  };
  const t: ScopedCloud = {
    cloud: await startCloud(config, log),
    get base() {
      return `http://127.0.0.1:${t.cloud.httpPort}`;
    },
    logs,
    async login(who) {
      const res = await fetch(`${t.base}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: who, password: OFFICERS[who][2] }),
      });
      if (res.status !== 200) throw new Error(`login ${who}: ${res.status} ${await res.text()}`);
      return res.headers.get('set-cookie')!.split(';')[0]!;
    },
    async get(path, cookie) {
      const res = await fetch(`${t.base}${path}`, { headers: cookie ? { cookie } : {} });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async publish(edgeId, batch) {
      const { client, acks } = await edge(edgeId);
      await publishBatch(client, edgeId, batch);
      await waitForAck(acks, batch.seq);
    },
    async restart() {
      for (const { client } of clients.values()) await client.endAsync(true);
      clients.clear();
      await t.cloud.close();
      t.cloud = await startCloud(config, log);
    },
    async stop() {
      for (const { client } of clients.values()) await client.endAsync(true);
      await t.cloud.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A batch of `n` pm25 readings of `device` from `t0`, one per second. */
export function pmBatch(edgeId: string, seq: number, device: string, n: number, t0: number): Batch {
  return {
    edgeId,
    seq,
    boot: 1,
    createdAt: t0 + n * 1000,
    historical: false,
    readings: Array.from({ length: n }, (_, i) => ({
      device,
      metric: 'pm25',
      value: 20 + i,
      unit: 'µg/m³',
      ts: t0 + i * 1000,
      quality: 'good' as const,
    })),
    events: [],
  };
}
