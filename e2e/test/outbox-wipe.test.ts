import { rmSync } from 'node:fs';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/** Waits until the running edge has generated `limit` readings and the cloud acked all of them. */
async function drained(v: Village, limit: number): Promise<void> {
  await waitFor(
    `the edge to generate its ${limit} readings and drain`,
    async () => {
      const m = await v.edgeMetrics();
      return (
        m.get('edge_readings_accepted_total') === limit &&
        m.get('edge_outbox_depth_readings') === 0 &&
        m.get('edge_outbox_batches') === 0
      );
    },
    { timeoutMs: 60_000 },
  );
}

describe('outbox wiped (a replaced SD card, a reinstalled box)', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('outbox-wipe');
  });
  afterAll(() => v.cleanup());

  it('stores every reading of the new outbox and records the epoch change', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 4, intervalMs: 20, limit: 400 });
    await drained(v, 400);
    expect(v.storedCount()).toBe(400);
    await v.edge!.stop();

    // The wipe: the outbox and its WAL go; the new one starts its seqs at 1 again.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${v.edgeDb}${suffix}`, { force: true });
    await v.restartEdge();
    await drained(v, 400);

    // Not acked as duplicates of the old outbox's seqs 1..n: every new reading is stored.
    expect(v.storedCount()).toBe(800);
    const events = v.query<{ type: string; data: string }>(
      "SELECT type, data FROM events WHERE type = 'epoch_changed'",
    );
    expect(events).toHaveLength(1);
    const data = JSON.parse(events[0]!.data) as Record<string, unknown>;
    expect(data.oldEpoch).toMatch(/^[0-9a-f]{32}$/);
    expect(data.newEpoch).toMatch(/^[0-9a-f]{32}$/);
    expect(data.newEpoch).not.toBe(data.oldEpoch);
    // The new epoch is the one the restarted edge made for its new outbox.
    expect(data.newEpoch).toBe(v.edge!.lines.find((l) => l.msg === 'edge ready')!.epoch);
    // The old epoch's high-water mark: how far the cloud had got before the gap.
    expect(data.oldHighWater).toBeGreaterThan(0);
  });
});
