import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ack, Reading } from '@village/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import {
  PASSWORDS,
  REGISTRY,
  T0,
  collectAcks,
  makeBatch,
  publishBatch,
  waitForAck,
} from './cloud-fixture.js';
import { type Influxd, startInfluxd } from './servers/influxd.js';
import { waitFor } from './wait-for.js';

const reading = (device: string, metric: string, value: Reading['value'], ts: number): Reading => ({
  device,
  metric,
  value,
  unit: 'µg/m³',
  ts,
  quality: 'good',
});

/**
 * Field types in InfluxDB (issue 14): a real influxd, a real cloud with the InfluxDB sink, two
 * edges over real MQTT. Devices aq-a and aq-b are of no registered kind, so both write to the
 * measurement `unknown`, where InfluxDB gives each field one type.
 */
describe("InfluxDB field types: one edge's string never locks out another edge's numbers", () => {
  let influxd: Influxd;
  let cloud: RunningCloud;
  let dir: string;
  const clients: MqttClient[] = [];
  const acks = new Map<string, Ack[]>();
  const seqs = new Map<string, number>();

  const api = async <B>(path: string, init?: RequestInit) => {
    const r = await fetch(`http://127.0.0.1:${cloud.httpPort}${path}`, init);
    return { status: r.status, body: (await r.json()) as B };
  };
  const send = async (edgeId: string, readings: Reading[]) => {
    const seq = (seqs.get(edgeId) ?? 0) + 1;
    seqs.set(edgeId, seq);
    const edge = clients.find((c) => c.options.username === edgeId)!;
    await publishBatch(edge, edgeId, makeBatch(edgeId, seq, 0, { readings }));
    await waitForAck(acks.get(edgeId)!, seq);
  };

  beforeAll(async () => {
    influxd = await startInfluxd(['village']);
    dir = mkdtempSync(join(tmpdir(), 'influx-conflict-'));
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
    cloud = await startCloud(config, pino({ level: 'silent' }));
    for (const id of ['edge-1', 'edge-2']) {
      const c = mqtt.connect(`mqtt://127.0.0.1:${cloud.mqttPort}`, {
        protocolVersion: 4,
        clientId: `${id}-conflict`,
        username: id,
        password: PASSWORDS[id],
        reconnectPeriod: 0,
      });
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      clients.push(c);
      acks.set(id, await collectAcks(c, id));
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await cloud?.close();
    await influxd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('edge A\'s pm2_5="n/a" (quality good), then edge B\'s numeric pm2_5: both stored and queryable', async () => {
    await send('edge-1', [reading('aq-a', 'pm2_5', 'n/a', T0)]);
    await send('edge-2', [
      reading('aq-b', 'pm2_5', 12.5, T0 + 1_000),
      reading('aq-b', 'pm2_5', 13.5, T0 + 2_000),
    ]);

    const [count] = await influxd.query('SELECT count("pm2_5") FROM "unknown" WHERE "device" = \'aq-b\'');
    expect(count!.series?.[0]?.values[0]?.[1]).toBe(2);
    const b = await api<{ buckets: unknown[] }>(
      `/api/v1/series?device=aq-b&metric=pm2_5&from=${T0}&to=${T0 + 60_000}&step=1m`,
    );
    expect(b).toEqual({
      status: 200,
      body: expect.objectContaining({ buckets: [{ t: T0, min: 12.5, max: 13.5, mean: 13, count: 2 }] }),
    });
    const a = await api<{ buckets: unknown[] }>(
      `/api/v1/series?device=aq-a&metric=pm2_5&from=${T0}&to=${T0 + 60_000}&step=1m`,
    );
    expect(a).toEqual({
      status: 200,
      body: expect.objectContaining({ buckets: [{ t: T0, min: null, max: null, mean: null, count: 1 }] }),
    });
    const latest = await api<{ latest: { device: string; value: unknown; quality: string }[] }>(
      '/api/v1/latest',
    );
    expect(latest.body.latest.filter((l) => l.device.startsWith('aq-'))).toEqual([
      expect.objectContaining({ device: 'aq-a', value: 'n/a', quality: 'good' }),
      expect.objectContaining({ device: 'aq-b', value: 13.5, quality: 'good' }),
    ]);
  }, 60_000);

  it('a point InfluxDB refuses for good is a dead letter; the rest of its batch is stored, and the batch acked', async () => {
    // A string already sits in field `legacy` of this measurement (written by an older cloud, or
    // by another program): InfluxDB refuses any number for that field in this shard, for good.
    const res = await fetch(`${influxd.url}/write?db=village&precision=ms`, {
      method: 'POST',
      body: `unknown,device=old legacy="text" ${T0}`,
    });
    expect(res.status).toBe(204);
    await send('edge-2', [
      reading('aq-b', 'legacy', 5, T0 + 10_000),
      reading('aq-b', 'pm2_5', 14, T0 + 11_000),
      reading('aq-b', 'pm2_5', 15, T0 + 12_000),
    ]);
    const [stored] = await influxd.query(
      `SELECT "pm2_5" FROM "unknown" WHERE "device" = 'aq-b' AND time >= ${T0 + 10_000}ms`,
    );
    expect(stored!.series?.[0]?.values.map((v) => v[1])).toEqual([14, 15]);

    const list = await api<{
      deadLetters: { id: number; kind: string; edge: string; reason: string; detail: string }[];
    }>('/api/v1/dead-letters?state=open');
    expect(list.body.deadLetters).toEqual([
      expect.objectContaining({ kind: 'point', edge: 'edge-2', reason: 'field_type_conflict' }),
    ]);
    const id = list.body.deadLetters[0]!.id;
    const one = await api<{ deadLetter: { bytes: string } }>(`/api/v1/dead-letters/${id}`);
    const kept = JSON.parse(Buffer.from(one.body.deadLetter.bytes, 'base64').toString('utf8'));
    expect(kept.readings).toEqual([reading('aq-b', 'legacy', 5, T0 + 10_000)]);
    const metrics = await (await fetch(`http://127.0.0.1:${cloud.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/cloud_dead_letters_total\{kind="point",reason="field_type_conflict"\} 1/);

    // The conflict is still there: a re-drive says so, the letter stays open.
    const again = await api<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, {
      method: 'POST',
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'still_failing']);
    await waitFor(
      async () =>
        (await api<{ deadLetters: { count: number }[] }>('/api/v1/dead-letters')).body.deadLetters[0]
          ?.count === 2,
      {
        what: 'the refused re-drive counted on the same letter',
      },
    );
  }, 60_000);
});
