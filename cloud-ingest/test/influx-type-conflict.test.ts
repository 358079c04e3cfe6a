import type { Reading } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from './cloud-fixture.js';
import { type InfluxTestCloud, startInfluxTestCloud } from './influx-test-cloud.js';

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
  let t: InfluxTestCloud;
  const api = <B>(path: string, init?: RequestInit) => t.api<B>(path, init);
  const send = (edgeId: 'edge-1' | 'edge-2', readings: Reading[]) => t.send(edgeId, readings);
  beforeAll(async () => {
    t = await startInfluxTestCloud();
  }, 60_000);
  afterAll(() => t?.stop());

  it('edge A\'s pm2_5="n/a" (quality good), then edge B\'s numeric pm2_5: both stored and queryable', async () => {
    await send('edge-1', [reading('aq-a', 'pm2_5', 'n/a', T0)]);
    await send('edge-2', [
      reading('aq-b', 'pm2_5', 12.5, T0 + 1_000),
      reading('aq-b', 'pm2_5', 13.5, T0 + 2_000),
    ]);

    const [count] = await t.influxd.query('SELECT count("pm2_5") FROM "unknown" WHERE "device" = \'aq-b\'');
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
    const res = await fetch(`${t.influxd.url}/write?db=village&precision=ms`, {
      method: 'POST',
      body: `unknown,device=old legacy="text" ${T0}`,
    });
    expect(res.status).toBe(204);
    await send('edge-2', [
      reading('aq-b', 'legacy', 5, T0 + 10_000),
      reading('aq-b', 'pm2_5', 14, T0 + 11_000),
      reading('aq-b', 'pm2_5', 15, T0 + 12_000),
    ]);
    const [stored] = await t.influxd.query(
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
    const metrics = await (await fetch(`http://127.0.0.1:${t.cloud.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/cloud_dead_letters_total\{kind="point",reason="field_type_conflict"\} 1/);

    // The series whose only point was refused answers (InfluxDB refuses min/mean on a string field), it does not fail.
    const legacy = await api<{ buckets: unknown[] }>(
      `/api/v1/series?device=aq-b&metric=legacy&from=${T0}&to=${T0 + 60_000}&step=1m`,
    );
    expect(legacy.status).toBe(200);
    expect(legacy.body.buckets).toEqual([]);

    // The conflict is still there: a re-drive says so, the letter stays open.
    const again = await api<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, {
      method: 'POST',
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'still_failing']);
    await waitFor(
      'the refused re-drive counted on the same letter',
      async () =>
        (await api<{ deadLetters: { count: number }[] }>('/api/v1/dead-letters')).body.deadLetters[0]
          ?.count === 2,
    );
  }, 60_000);
});
