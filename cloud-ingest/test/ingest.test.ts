import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  T0,
  type TestCloud,
  collectAcks,
  counterValue,
  makeBatch,
  publishBatch,
  startTestCloud,
  waitForAck,
} from './cloud-fixture.js';

describe('batch ingest over the embedded broker', { timeout: 60_000 }, () => {
  let t: TestCloud;
  beforeEach(async () => {
    t = await startTestCloud();
  });
  afterEach(async () => {
    await t.stop();
  });

  const counts = () =>
    t.cloud.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(rewrites), 0) AS rewrites FROM readings')
      .get() as {
      n: number;
      rewrites: number;
    };

  it('commits a batch with place tags, then acks its seq', async () => {
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    const batch = makeBatch('edge-1', 1, 50, {
      events: [{ device: 'wb-1', type: 'fall', severity: 'critical', ts: T0 + 5, data: { confidence: 0.9 } }],
    });
    batch.readings.push({
      device: 'door-1',
      metric: 'open',
      value: true,
      unit: '',
      ts: T0,
      quality: 'suspect',
    });
    await publishBatch(edge, 'edge-1', batch);
    await waitForAck(acks, 1);
    // The ack carries the cloud's clock, for the edge's offset measure (an older edge ignores it).
    expect(acks[0]).toEqual({ acked: [1], rejected: [], cloudTime: expect.any(Number) });

    expect(counts()).toEqual({ n: 51, rewrites: 0 });
    const series = t.cloud.db.prepare("SELECT * FROM series WHERE device = 'pm-1'").get() as Record<
      string,
      unknown
    >;
    expect(series).toMatchObject({
      metric: 'pm25',
      unit: 'µg/m³',
      county: 'c1',
      town: 't1',
      village: 'v1',
      station: 's1',
    });
    const ev = t.cloud.db.prepare('SELECT device, type, ts, received_at, historical FROM events').all();
    expect(ev).toEqual([
      { device: 'wb-1', type: 'fall', ts: T0 + 5, received_at: expect.any(Number), historical: 0 },
    ]);
    // Unknown devices are learned from the batch and placed at the edge's station.
    const devices = t.cloud.registry.devices();
    expect(devices.find((d) => d.id === 'door-1')).toMatchObject({
      edge: 'edge-1',
      station: 's1',
      county: 'c1',
    });
    expect(await counterValue(t.cloud.metrics.batches, { result: 'committed' })).toBe(1);
    expect(await counterValue(t.cloud.metrics.readingsWritten)).toBe(51);
  });

  it('acks a resent seq again without writing it twice', async () => {
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    const batch = makeBatch('edge-1', 1, 20);
    await publishBatch(edge, 'edge-1', batch);
    await waitForAck(acks, 1);
    await publishBatch(edge, 'edge-1', batch);
    await waitForAck(acks, 1, 2);
    expect(counts()).toEqual({ n: 20, rewrites: 0 });
    expect(await counterValue(t.cloud.metrics.batches, { result: 'duplicate' })).toBe(1);
    expect(await counterValue(t.cloud.metrics.rewrites)).toBe(0);
  });

  it('advances the high-water mark over seqs committed out of order, and keeps it across a restart', async () => {
    let edge = await t.connectEdge('edge-1');
    let acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 3, 5, {}, T0 + 3_000_000));
    await waitForAck(acks, 3);
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 5, {}, T0 + 1_000_000));
    await waitForAck(acks, 1);
    expect(t.cloud.db.prepare("SELECT seq FROM edge_seq_above WHERE edge = 'edge-1'").all()).toEqual([
      { seq: 3 },
    ]);
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 2, 5, {}, T0 + 2_000_000));
    await waitForAck(acks, 2);
    expect(t.cloud.db.prepare("SELECT high_water FROM edge_seq_state WHERE edge = 'edge-1'").get()).toEqual({
      high_water: 3,
    });
    expect(t.cloud.db.prepare('SELECT COUNT(*) AS n FROM edge_seq_above').get()).toEqual({ n: 0 });

    await edge.endAsync();
    await t.restart();
    edge = await t.connectEdge('edge-1');
    acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 2, 5, {}, T0 + 2_000_000));
    await waitForAck(acks, 2);
    expect(await counterValue(t.cloud.metrics.batches, { result: 'duplicate' })).toBe(1);
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 4, 5, {}, T0 + 4_000_000));
    await waitForAck(acks, 4);
    expect(counts()).toEqual({ n: 20, rewrites: 0 });
    // The file itself holds the state (what the e2e tests read with their own connection).
    const ro = new Database(`${t.dir}/data/cloud.db`, { readonly: true });
    expect(ro.prepare('SELECT high_water FROM edge_seq_state').get()).toEqual({ high_water: 4 });
    ro.close();
  });

  it('rejects a batch whose edge id differs from its topic, and seq 0', async () => {
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-2', 7, 3));
    await waitFor('rejection of seq 7', () => acks.find((a) => a.rejected.some((r) => r.seq === 7)));
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 0, 3));
    await waitFor('rejection of seq 0', () => acks.find((a) => a.rejected.some((r) => r.seq === 0)));
    expect(acks.flatMap((a) => a.acked)).toEqual([]);
    expect(counts().n).toBe(0);
    expect(await counterValue(t.cloud.metrics.batches, { result: 'rejected' })).toBe(2);
  });

  it('acks only on the edge that sent the batch', async () => {
    const edge1 = await t.connectEdge('edge-1');
    const edge2 = await t.connectEdge('edge-2');
    const acks1 = await collectAcks(edge1, 'edge-1');
    const acks2 = await collectAcks(edge2, 'edge-2');
    await publishBatch(edge2, 'edge-2', makeBatch('edge-2', 1, 2));
    await waitForAck(acks2, 1);
    await publishBatch(edge1, 'edge-1', makeBatch('edge-1', 9, 2, {}, T0 + 10_000_000));
    await waitForAck(acks1, 9);
    expect(acks1.flatMap((a) => a.acked)).toEqual([9]);
    expect(acks2.flatMap((a) => a.acked)).toEqual([1]);
  });
});
