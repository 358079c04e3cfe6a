import type { Reading } from '@village/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestCloud,
  collectAcks,
  makeBatch,
  publishBatch,
  startTestCloud,
  waitForAck,
} from './cloud-fixture.js';
import { type InfluxTestCloud, startInfluxTestCloud } from './influx-test-cloud.js';

const Y2096 = Date.UTC(2096, 0, 1);
const pm = (value: number, ts: number): Reading => ({
  device: 'pm-9',
  metric: 'pm25',
  value,
  unit: 'µg/m³',
  ts,
  quality: 'good',
});
type Latest = { latest: { device: string; metric: string; value: unknown; ts: number; quality: string }[] };

/**
 * Readings dated in the future (an edge clock that jumped to 2096) or before the floor
 * (ingest.minTimestamp, default 2020-01-01) are stored as suspect and never become `latest`, with
 * either sink; a normal reading after them is the latest. Real cloud, real MQTT edge, real influxd.
 */
const scenario = async (
  send: (readings: Reading[]) => Promise<void>,
  api: <B>(path: string) => Promise<{ status: number; body: B }>,
) => {
  const now = Date.now();
  await send([pm(999, Y2096), pm(5, Date.UTC(2019, 5, 1))]);
  const before = await api<Latest>('/api/v1/latest?device=pm-9');
  expect(before.body.latest).toEqual([]);
  await send([pm(21, now - 1_000)]);
  const after = await api<Latest>('/api/v1/latest?device=pm-9');
  expect(after.body.latest).toEqual([
    expect.objectContaining({ value: 21, ts: now - 1_000, quality: 'good' }),
  ]);
};

describe('future timestamps never become latest: SQLite sink', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  }, 60_000);
  afterAll(() => t?.stop());

  it('a 2096 reading is stored as suspect and never latest; a later normal reading is latest', async () => {
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    // What the rules and the live stream are fed.
    const fed: number[] = [];
    t.cloud.committed.subscribe((b) =>
      fed.push(...b.readings.filter((r) => r.device === 'pm-9').map((r) => r.value as number)),
    );
    let seq = 0;
    await scenario(
      async (readings) => {
        seq++;
        await publishBatch(edge, 'edge-1', makeBatch('edge-1', seq, 0, { readings }));
        await waitForAck(acks, seq);
      },
      async <B>(path: string) => {
        const r = await fetch(`http://127.0.0.1:${t.cloud.httpPort}${path}`);
        return { status: r.status, body: (await r.json()) as B };
      },
    );
    const stored = t.cloud.db
      .prepare(
        "SELECT r.ts, r.value, r.quality FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'pm-9' ORDER BY r.ts",
      )
      .all();
    // The rules and the live stream never see the readings outside the window.
    expect(fed).toEqual([21]);
    // Quality codes: 0 good, 1 suspect.
    expect(stored).toEqual([
      { ts: Date.UTC(2019, 5, 1), value: 5, quality: 1 },
      expect.objectContaining({ value: 21, quality: 0 }),
      { ts: Y2096, value: 999, quality: 1 },
    ]);
    await edge.endAsync(true);
  });

  it('on start, a latest pinned in 2096 by an older cloud is replaced by the newest believable reading', async () => {
    // What a cloud before this fix left in cloud.db: the 2096 reading as the series' latest.
    t.cloud.db
      .prepare(
        "UPDATE latest SET ts = ?, value = 999, quality = 0 WHERE series_id = (SELECT id FROM series WHERE device = 'pm-9')",
      )
      .run(Y2096);
    await t.restart();
    const r = await fetch(`http://127.0.0.1:${t.cloud.httpPort}/api/v1/latest?device=pm-9`);
    expect(((await r.json()) as Latest).latest).toEqual([
      expect.objectContaining({ value: 21, quality: 'good' }),
    ]);
  });
});

describe('future timestamps never become latest: InfluxDB sink', () => {
  let t: InfluxTestCloud;
  beforeAll(async () => {
    t = await startInfluxTestCloud();
  }, 60_000);
  afterAll(() => t?.stop());

  it('a 2096 reading is stored as suspect and never latest; a later normal reading is latest', async () => {
    await scenario(
      (readings) => t.send('edge-1', readings),
      <B>(path: string) => t.api<B>(path),
    );
    const [r] = await t.influxd.query(`SELECT "pm25", "pm25_q" FROM "unknown" WHERE "device" = 'pm-9'`);
    expect(r!.series?.[0]?.values.map((v) => v.slice(1))).toEqual([
      [5, 'suspect'],
      [21, null],
      [999, 'suspect'],
    ]);
  });
});
