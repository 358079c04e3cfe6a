import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchTap,
  type BrokerInfluxVillage,
  type Influxd,
  type Mosquitto,
  compareWithInflux,
  startBrokerInfluxVillage,
} from './harness/broker-and-influx.js';
import type { Village } from './harness/village.js';

const LIMIT = 20_000;

describe("Mosquitto's default max_queued_messages (1000) with a slowed-down ingest", () => {
  let influxd: Influxd;
  let mosquitto: Mosquitto;
  let tap: BatchTap;
  let v: Village;
  let setup: BrokerInfluxVillage;
  beforeAll(async () => {
    // TEST KNOB ingest.testDelayMs: 100 ms per batch during the first 15 s, so the worker's
    // queue on the broker overflows; then full speed.
    setup = await startBrokerInfluxVillage('mosquitto-queue', { testDelayMs: 100, testDelayForMs: 15_000 });
    ({ influxd, mosquitto, tap, v } = setup);
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it('the broker drops queued batches, the edge resends what was not acked, and the store is still exact', async () => {
    await v.startCloud();
    // 50 devices × 2 metrics every 20 ms in batches of 20: ~250 batches/s, 256 in flight,
    // resent every 2 s while unacked: far more than the slowed worker takes. The cap equal to the
    // timeout turns the resend backoff off: with it the edge resends too little to overflow the queue.
    await v.startEdge(
      { devices: 50, intervalMs: 20, limit: LIMIT },
      { batchMaxReadings: 20, batchMaxAgeMs: 50 },
      { window: 256, ackTimeoutMs: 2_000, ackTimeoutMaxMs: 2_000 },
    );
    await v.allAcked(LIMIT, 150_000);
    const edge = await v.edgeMetrics();
    const retries = edge.get('edge_batches_retried_total') ?? 0;
    const drops =
      mosquitto.log().match(/Outgoing messages are being dropped for client worker-a/g)?.length ?? 0;
    const diff = await compareWithInflux(influxd, tap.readings());
    console.log(
      JSON.stringify({
        queue: { ...diff, edgeRetries: retries, brokerDropNotices: drops, published: tap.published },
      }),
    );
    // Mosquitto did drop (it says so), and the edge had to resend.
    expect(drops).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    expect(diff).toEqual({
      sent: LIMIT,
      stored: LIMIT,
      influxCount: LIMIT,
      missing: [],
      extra: [],
      different: [],
    });
  });
});
