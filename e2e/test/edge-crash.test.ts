import { decodeBatch } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage, storedKeys } from './harness/village.js';

/** Everything the dead edge had accepted but the cloud had not acked: its outbox, read after the crash. */
function outboxKeys(path: string): Set<string> {
  const db = new Database(path);
  try {
    const keys = new Set<string>();
    for (const r of db.prepare('SELECT device, metric, ts FROM pending').all() as {
      device: string;
      metric: string;
      ts: number;
    }[]) {
      keys.add(`${r.device}|${r.metric}|${r.ts}`);
    }
    for (const b of db.prepare('SELECT bytes FROM batches').all() as { bytes: Buffer }[]) {
      for (const r of decodeBatch(b.bytes).readings) keys.add(`${r.device}|${r.metric}|${r.ts}`);
    }
    return keys;
  } finally {
    db.close();
  }
}

describe('kill -9 of the edge while readings flow', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('edge-crash');
  });
  afterAll(() => v.cleanup());

  it('loses nothing it had accepted and duplicates nothing after restart', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 40, intervalMs: 10 }, { groupCommitMs: 5 });
    await waitFor('readings flowing', () => v.storedCount() >= 5_000, { timeoutMs: 60_000 });
    await v.edge!.kill9();
    const acceptedUnacked = outboxKeys(v.edgeDb);
    // The cloud may still commit what was on the wire; both that and the outbox are "accepted".
    const storedAtKill = storedKeys(v);
    expect(acceptedUnacked.size).toBeGreaterThan(0);

    await v.startEdge({ devices: 40, intervalMs: 10, limit: 4_000 });
    await waitFor(
      'the restarted edge to generate its 4,000 and drain',
      async () => {
        const m = await v.edgeMetrics();
        return (
          m.get('edge_readings_accepted_total') === 4_000 &&
          m.get('edge_outbox_depth_readings') === 0 &&
          m.get('edge_outbox_batches') === 0
        );
      },
      { timeoutMs: 60_000 },
    );
    const stored = storedKeys(v);
    const missing = [...acceptedUnacked].filter((k) => !stored.has(k));
    expect(missing).toEqual([]);
    const expected = new Set([...storedAtKill, ...acceptedUnacked]).size + 4_000;
    const [row] = v.query<{ n: number; rewrites: number }>(
      'SELECT COUNT(*) AS n, SUM(rewrites) AS rewrites FROM readings',
    );
    expect(row).toEqual({ n: expected, rewrites: 0 });
  });
});
