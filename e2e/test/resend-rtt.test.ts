import { decodeBatch, encodeAck, topics } from '@village/protocol';
import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const PASSWORDS = { 'edge-1': 'pw-edge-1-rtt', ingest: 'pw-ingest-rtt' };
const ACK_TIMEOUT_MS = 200;
const FAST_BATCHES = 5;
const SLOW_BATCHES = 20;
/**
 * The acker's latency for a seq: 20 ms for the first batches, then growing by 40 ms a batch, as a
 * cloud's queue grows past its capacity, to 100 + 20 × 40 = 900 ms (4.5 × ackTimeoutMs).
 */
const delayOf = (seq: number) => (seq <= FAST_BATCHES ? 20 : 100 + (seq - FAST_BATCHES) * 40);

// A cloud past its capacity acks late: its queue, not a loss. The edge must learn that and stop
// resending its window (each resend is a duplicate the cloud must ack too, so a fixed first
// timeout below the latency turns overload into collapse: docs/scaling.md, the fleet section).
describe('the first resend timeout follows the ack round trip (real edge, real Mosquitto, a slow acker)', () => {
  let mosquitto: Mosquitto;
  let v: Village;
  let acker: mqtt.MqttClient;
  /** seq → how many times it reached the broker's subscriber. */
  const sends = new Map<number, number>();
  const acked = new Set<number>();
  beforeAll(async () => {
    mosquitto = await startMosquitto(PASSWORDS);
    // The ingest account stands in for a cloud: it acks every copy it gets, as the cloud acks a
    // duplicate, fast for the first batches and then later and later (delayOf).
    acker = await mqtt.connectAsync(mosquitto.url, {
      username: 'ingest',
      password: PASSWORDS.ingest,
      protocolVersion: 4,
    });
    acker.on('message', (_topic, payload) => {
      const { seq, epoch } = decodeBatch(payload);
      sends.set(seq, (sends.get(seq) ?? 0) + 1);
      const ack = encodeAck({
        acked: [seq],
        rejected: [],
        ...(epoch === undefined ? {} : { epoch }),
        cloudTime: Date.now(),
      });
      setTimeout(() => {
        acked.add(seq);
        acker.publish(topics.ack('edge-1'), Buffer.from(ack), { qos: 1 });
      }, delayOf(seq));
    });
    await acker.subscribeAsync(topics.batch('edge-1'), { qos: 1 });
    v = await createVillage('resend-rtt', { edgeUrl: mosquitto.url, edgePassword: PASSWORDS['edge-1'] });
  });
  afterAll(async () => {
    await acker?.endAsync();
    await v?.cleanup();
    await mosquitto?.dispose();
  });

  it('resends few batches while the latency grows past ackTimeoutMs, where a fixed timeout resends each', async () => {
    const total = FAST_BATCHES + SLOW_BATCHES;
    // One batch in flight at a time, a new batch every 50 ms: the outbox always has the next one.
    await v.startEdge(
      { devices: 1, intervalMs: 20, limit: 2_000 },
      { batchMaxAgeMs: 50 },
      { window: 1, ackTimeoutMs: ACK_TIMEOUT_MS, ackTimeoutMaxMs: 4_000 },
    );
    await waitFor(`seqs 1..${total} acked`, () => [...Array(total).keys()].every((i) => acked.has(i + 1)), {
      timeoutMs: 60_000,
    });
    const resent = (from: number, to: number) => {
      let n = 0;
      for (let s = from; s <= to; s++) n += (sends.get(s) ?? 1) - 1;
      return n;
    };
    // Past 200 ms (from seq 8 on) a first timeout fixed at ackTimeoutMs resends every batch at
    // least once: 18 or more here. Following the round trip, the timeout grows ahead of the latency.
    const slow = resent(FAST_BATCHES + 1, total);
    expect(slow, `resends of the ${SLOW_BATCHES} slower and slower batches: ${slow}`).toBeLessThanOrEqual(4);
    // Nothing lost: every batch still came, in order, one at a time.
    for (let s = 1; s <= total; s++) expect(sends.get(s), `seq ${s}`).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
