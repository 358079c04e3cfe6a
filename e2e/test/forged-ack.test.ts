import { encodeAck, topics } from '@village/protocol';
import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const PASSWORDS = { 'edge-1': 'pw-edge-1-forged', ingest: 'pw-ingest-forged' };
const WINDOW = 4;

/** The seqs the edge's outbox holds (read-only: WAL lets the test read while the edge writes). */
function outboxSeqs(v: Village): number[] {
  const db = new Database(v.edgeDb, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT seq FROM batches ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
}

describe('a forged ack on a real Mosquitto', () => {
  let mosquitto: Mosquitto;
  let v: Village;
  beforeAll(async () => {
    mosquitto = await startMosquitto(PASSWORDS);
    // No cloud at all: nothing the edge sent was ever committed, so every batch must stay.
    v = await createVillage('forged-ack', { edgeUrl: mosquitto.url, edgePassword: PASSWORDS['edge-1'] });
  });
  afterAll(async () => {
    await v?.cleanup();
    await mosquitto?.dispose();
  });

  it('deletes nothing that was not in flight, and counts what it ignored', async () => {
    await v.startEdge(
      { devices: 4, intervalMs: 10, limit: 2_000 },
      { batchMaxReadings: 20, batchMaxAgeMs: 50 },
      { window: WINDOW, ackTimeoutMs: 60_000 },
    );
    await waitFor('the edge to have a backlog', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_readings_accepted_total') === 2_000 && m.get('edge_outbox_pending_readings') === 0;
    });
    await waitFor('its window in flight', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_uplink_inflight_batches') === WINDOW;
    });
    const before = outboxSeqs(v);
    expect(before.length).toBeGreaterThan(WINDOW * 10);

    // The ingest account may write every edge's down/: a broker or account that is not the cloud.
    const forger = await mqtt.connectAsync(mosquitto.url, {
      username: 'ingest',
      password: PASSWORDS.ingest,
      protocolVersion: 5,
    });
    const acked = Array.from({ length: 15_000 }, (_, i) => i + 1);
    await forger.publishAsync(topics.ack('edge-1'), Buffer.from(encodeAck({ acked, rejected: [] })), {
      qos: 1,
    });
    // Handled once it is counted as ignored, or (what the edge did before) once it deleted the backlog.
    await waitFor('the forged ack handled', async () => {
      const m = await v.edgeMetrics();
      const counted = (m.get('edge_acks_ignored_total{reason="not_in_flight"}') ?? 0) >= 15_000 - WINDOW;
      return counted || outboxSeqs(v).length < before.length - WINDOW;
    });
    const after = outboxSeqs(v);
    const deleted = before.filter((s) => !after.includes(s));
    // At most the window in flight could be taken for acked (an unsigned ack for a seq in flight
    // is indistinguishable from the cloud's); nothing of the unsent backlog.
    expect(deleted.length).toBeLessThanOrEqual(WINDOW);
    expect(deleted.every((s) => s <= before[WINDOW - 1]!)).toBe(true);

    // An ack naming another outbox epoch deletes nothing at all.
    const left = outboxSeqs(v);
    await forger.publishAsync(
      topics.ack('edge-1'),
      Buffer.from(encodeAck({ acked, rejected: [], epoch: 'f'.repeat(32) })),
      { qos: 1 },
    );
    await waitFor('the other-epoch ack counted', async () => {
      const m = await v.edgeMetrics();
      return (m.get('edge_acks_ignored_total{reason="other_epoch"}') ?? 0) >= 15_000;
    });
    expect(outboxSeqs(v)).toEqual(left);
    await forger.endAsync();
  });
});
