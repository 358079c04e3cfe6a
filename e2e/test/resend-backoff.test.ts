import { decodeBatch, topics } from '@village/protocol';
import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const PASSWORDS = { 'edge-1': 'pw-edge-1-resend', ingest: 'pw-ingest-resend' };
const ACK_TIMEOUT_MS = 200;
const ACK_TIMEOUT_MAX_MS = 1_600;
/** Jitter takes up to 20% off a wait (resend-backoff.ts); the rest is tick (50 ms) and delivery noise on a loaded box. */
const EARLY_SLACK_MS = 100;
const LATE_SLACK_MS = 500;

describe('resend backoff against a cloud that never acks (real Mosquitto, no ingest)', () => {
  let mosquitto: Mosquitto;
  let v: Village;
  let tap: mqtt.MqttClient;
  /** Arrival times (ms, at the broker's subscriber) of each send of seq 1. */
  const arrivals: number[] = [];
  beforeAll(async () => {
    mosquitto = await startMosquitto(PASSWORDS);
    // The ingest account reads every edge's up/: it sees each send and resend, and never acks.
    tap = await mqtt.connectAsync(mosquitto.url, {
      username: 'ingest',
      password: PASSWORDS.ingest,
      protocolVersion: 4,
    });
    tap.on('message', (_topic, payload) => {
      if (decodeBatch(payload).seq === 1) arrivals.push(performance.now());
    });
    await tap.subscribeAsync(topics.batch('edge-1'), { qos: 1 });
    v = await createVillage('resend-backoff', { edgeUrl: mosquitto.url, edgePassword: PASSWORDS['edge-1'] });
  });
  afterAll(async () => {
    await tap?.endAsync();
    await v?.cleanup();
    await mosquitto?.dispose();
  });

  it('doubles the wait between resends of one batch up to the cap, and starts over on a reconnect', async () => {
    // One reading, one batch, never acked.
    await v.startEdge(
      { devices: 1, intervalMs: 10, limit: 1 },
      { batchMaxAgeMs: 50 },
      { window: 1, ackTimeoutMs: ACK_TIMEOUT_MS, ackTimeoutMaxMs: ACK_TIMEOUT_MAX_MS },
    );
    // First send and 6 resends: 200, 400, 800, then the cap 1,600 three times (about 6.2 s).
    // (With a fixed timeout the 7 come within 1.5 s: wait for 3 s too, so the count below sees them all.)
    await waitFor('seq 1 sent 7 times, over at least 3 s', () => {
      return arrivals.length >= 7 && performance.now() - arrivals[0]! >= 3_000;
    });
    const first = arrivals.slice(0, 7);

    // Logarithmic, not linear: in the first 3 s a fixed 200 ms timeout resends about 15 times;
    // doubling from 200 ms (less up to 20% jitter) gives at most 4 resends, 5 with delivery noise.
    const within3s = arrivals.filter((t) => t - first[0]! <= 3_000).length - 1;
    expect(within3s).toBeLessThanOrEqual(5);

    const intervals = first.slice(1).map((t, i) => t - first[i]!);
    const bases = intervals.map((_, k) => Math.min(ACK_TIMEOUT_MS * 2 ** k, ACK_TIMEOUT_MAX_MS));
    for (const [k, interval] of intervals.entries()) {
      expect(interval, `interval ${k} (${intervals.map(Math.round).join(', ')} ms)`).toBeGreaterThanOrEqual(
        bases[k]! * 0.8 - EARLY_SLACK_MS,
      );
      expect(interval, `interval ${k} (${intervals.map(Math.round).join(', ')} ms)`).toBeLessThanOrEqual(
        bases[k]! + LATE_SLACK_MS,
      );
    }

    // A reconnect: another session with the edge's username takes its client id (client id =
    // username on this listener), so the broker drops the edge, which reconnects on its own.
    const kickedAt = performance.now();
    const kicker = await mqtt.connectAsync(mosquitto.url, {
      username: 'edge-1',
      password: PASSWORDS['edge-1'],
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await kicker.endAsync(true);
    await waitFor('the edge reconnected and resent twice more', () => {
      return arrivals.filter((t) => t > kickedAt).length >= 3;
    });
    const after = arrivals.filter((t) => t > kickedAt);
    // The window is sent once on the new session, then the timer starts again from ackTimeoutMs
    // (without the reset the next wait would be the cap, 1,600 ms).
    const reset = [after[1]! - after[0]!, after[2]! - after[1]!];
    expect(reset[0], `after the reconnect: ${reset.map(Math.round).join(', ')} ms`).toBeLessThanOrEqual(
      ACK_TIMEOUT_MS + LATE_SLACK_MS,
    );
    expect(reset[1], `after the reconnect: ${reset.map(Math.round).join(', ')} ms`).toBeGreaterThanOrEqual(
      2 * ACK_TIMEOUT_MS * 0.8 - EARLY_SLACK_MS,
    );
    // At-least-once: still resending, nothing given up (the batch is still in the outbox).
    const m = await v.edgeMetrics();
    expect(m.get('edge_uplink_inflight_batches')).toBe(1);
    expect(m.get('edge_batches_retried_total')).toBeGreaterThanOrEqual(7);
  }, 60_000);
});
