import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

describe('kill -9 of the cloud mid-flow', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('cloud-crash');
  });
  afterAll(() => v.cleanup());

  it('after restart every accepted reading is stored exactly once', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 40, intervalMs: 10, limit: 30_000 });
    await waitFor('readings flowing', () => v.storedCount() >= 4_000, { timeoutMs: 60_000 });
    await v.cloud!.kill9();
    const atKill = v.storedCount();
    expect(atKill).toBeLessThan(30_000);
    await v.startCloud();
    await waitFor('30,000 stored', () => v.storedCount() >= 30_000, { timeoutMs: 90_000, intervalMs: 200 });
    await waitFor('the edge outbox to drain', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_outbox_depth_readings') === 0 && m.get('edge_outbox_batches') === 0;
    });
    const m = await v.edgeMetrics();
    expect(m.get('edge_readings_accepted_total')).toBe(30_000);
    const [row] = v.query<{ n: number; rewrites: number }>(
      'SELECT COUNT(*) AS n, SUM(rewrites) AS rewrites FROM readings',
    );
    expect(row).toEqual({ n: 30_000, rewrites: 0 });
  });
});
