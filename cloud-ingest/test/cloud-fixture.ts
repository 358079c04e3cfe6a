import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, type Batch, type Reading, decodeAck, encodeBatch, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';

export const REGISTRY = {
  counties: [
    {
      id: 'c1',
      name: '示例县',
      towns: [
        {
          id: 't1',
          name: '示例镇',
          villages: [
            { id: 'v1', name: '示例村', stations: [{ id: 's1', name: '村委会站', edges: ['edge-1'] }] },
          ],
        },
      ],
    },
  ],
  people: [
    { id: 'p1', name: '张三', station: 's1', wristband: 'wb-1', livesAlone: true, heartRate: [50, 110] },
  ],
  devices: [{ id: 'pm-1', edge: 'edge-1', kind: 'air-quality', driver: 'modbus' }],
};

export const PASSWORDS: Record<string, string> = { 'edge-1': 'pw-edge-1', 'edge-2': 'pw-edge-2' };
const HASHES = Object.fromEntries(Object.entries(PASSWORDS).map(([id, pw]) => [id, hashPassword(pw)]));

export interface TestCloud {
  cloud: RunningCloud;
  dir: string;
  /** Every log line the cloud wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Restarts the cloud on the same data folder (same ports are not kept). */
  restart(): Promise<void>;
  connectEdge(edgeId: string, opts?: Partial<IClientOptions>): Promise<MqttClient>;
  stop(): Promise<void>;
}

/** A real cloud (embedded broker, SQLite, HTTP) on ephemeral ports in a temp folder. */
export async function startTestCloud(): Promise<TestCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'cloud-test-'));
  writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  const config = parseConfig(
    {
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { port: 0 },
      http: { port: 0 },
      edges: Object.entries(HASHES).map(([id, passwordHash]) => ({ id, passwordHash })),
      log: { level: 'debug' },
    },
    dir,
  );
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const clients: MqttClient[] = [];
  const t: TestCloud = {
    cloud: await startCloud(config, log),
    dir,
    logs,
    async restart() {
      await t.cloud.close();
      t.cloud = await startCloud(config, log);
    },
    async connectEdge(edgeId, opts = {}) {
      const client = mqtt.connect(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
        protocolVersion: 4,
        clientId: `${edgeId}-${Math.random().toString(16).slice(2, 8)}`,
        username: edgeId,
        password: PASSWORDS[edgeId],
        reconnectPeriod: 0,
        connectTimeout: 20_000,
        ...opts,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await t.cloud.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Subscribes to the edge's acks and collects them. */
export async function collectAcks(client: MqttClient, edgeId: string): Promise<Ack[]> {
  const acks: Ack[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.ack(edgeId)) acks.push(decodeAck(payload));
  });
  await client.subscribeAsync(topics.ack(edgeId), { qos: 1 });
  return acks;
}

export function waitForAck(acks: Ack[], seq: number, count = 1): Promise<boolean> {
  return waitFor(
    `ack of seq ${seq} x${count}`,
    () => acks.filter((a) => a.acked.includes(seq)).length >= count,
  );
}

export const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

/** A batch of `n` readings of pm-1's pm25 (one per second from `t0`) plus optional events. */
export function makeBatch(
  edgeId: string,
  seq: number,
  n: number,
  extra: Partial<Batch> = {},
  t0 = T0,
): Batch {
  const readings: Reading[] = [];
  for (let i = 0; i < n; i++) {
    readings.push({
      device: 'pm-1',
      metric: 'pm25',
      value: 10 + i,
      unit: 'µg/m³',
      ts: t0 + i * 1000,
      quality: 'good',
    });
  }
  return {
    edgeId,
    seq,
    boot: 1,
    createdAt: t0 + n * 1000,
    historical: false,
    readings,
    events: [],
    ...extra,
  };
}

export function publishBatch(
  client: MqttClient,
  edgeId: string,
  batch: Batch | Uint8Array,
): Promise<unknown> {
  const bytes = batch instanceof Uint8Array ? batch : encodeBatch(batch);
  return client.publishAsync(topics.batch(edgeId), Buffer.from(bytes), { qos: 1 });
}

/** Current value of a counter for the given labels (0 when never incremented). */
export async function counterValue(
  counter: Counter<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

/** cloud_commit_group_batches so far: sink transactions, and the batches they held. */
export async function commitGroups(h: Histogram): Promise<{ transactions: number; batches: number }> {
  const { values } = await h.get();
  const of = (suffix: string) =>
    values.find((v) => v.metricName === `cloud_commit_group_batches${suffix}`)!.value;
  return { transactions: of('_count'), batches: of('_sum') };
}
