import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ack, Reading } from '@village/protocol';
import { type Influxd, startInfluxd } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { PASSWORDS, REGISTRY, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';

export interface InfluxTestCloud {
  influxd: Influxd;
  cloud: RunningCloud;
  api<B>(path: string, init?: RequestInit): Promise<{ status: number; body: B }>;
  /** Publishes one batch of these readings from the edge (its next seq) over MQTT and waits for its ack. */
  send(edgeId: 'edge-1' | 'edge-2', readings: Reading[]): Promise<void>;
  stop(): Promise<void>;
}

/** A real influxd (database `village`) and a real cloud writing to it, with edge-1 and edge-2 connected over MQTT. */
export async function startInfluxTestCloud(): Promise<InfluxTestCloud> {
  const influxd = await startInfluxd(['village']);
  const dir = mkdtempSync(join(tmpdir(), 'influx-cloud-'));
  writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  const config = parseConfig(
    {
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: { port: 0 },
      http: { port: 0 },
      sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' },
      edges: ['edge-1', 'edge-2'].map((id) => ({ id, passwordHash: hashPassword(PASSWORDS[id]!) })),
      log: { level: 'warn' },
    },
    dir,
  );
  const cloud = await startCloud(config, pino({ level: 'silent' }));
  const edges = new Map<string, { client: MqttClient; acks: Ack[]; seq: number }>();
  for (const id of ['edge-1', 'edge-2']) {
    const client = mqtt.connect(`mqtt://127.0.0.1:${cloud.mqttPort}`, {
      protocolVersion: 4,
      clientId: `${id}-influx-test`,
      username: id,
      password: PASSWORDS[id],
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    edges.set(id, { client, acks: await collectAcks(client, id), seq: 0 });
  }
  return {
    influxd,
    cloud,
    async api<B>(path: string, init?: RequestInit) {
      const r = await fetch(`http://127.0.0.1:${cloud.httpPort}${path}`, init);
      return { status: r.status, body: (await r.json()) as B };
    },
    async send(edgeId, readings) {
      const e = edges.get(edgeId)!;
      e.seq++;
      await publishBatch(e.client, edgeId, makeBatch(edgeId, e.seq, 0, { readings }));
      await waitForAck(e.acks, e.seq);
    },
    async stop() {
      await Promise.all([...edges.values()].map((e) => e.client.endAsync(true)));
      await cloud.close();
      await influxd.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
