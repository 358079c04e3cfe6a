import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchTap,
  type BrokerInfluxVillage,
  type Influxd,
  compareWithInflux,
  startBrokerInfluxVillage,
} from './harness/broker-and-influx.js';
import type { Village } from './harness/village.js';

const LIMIT = 30_000;

describe('edge → Mosquitto → cloud → real InfluxDB 1.6.7', () => {
  let influxd: Influxd;
  let tap: BatchTap;
  let v: Village;
  let setup: BrokerInfluxVillage;
  beforeAll(async () => {
    setup = await startBrokerInfluxVillage('influx-flow');
    ({ influxd, tap, v } = setup);
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it('stores exactly what the edge sent: same count, same values per series, per-seq acks', async () => {
    await v.startCloud();
    // 25 devices × 2 metrics every 25 ms = 2,000 readings/s, stopping at LIMIT.
    await v.startEdge({ devices: 25, intervalMs: 25, limit: LIMIT });
    await v.allAcked(LIMIT, 90_000);
    const sent = tap.readings();
    expect(sent.size).toBe(LIMIT);
    const diff = await compareWithInflux(influxd, sent);
    console.log(
      JSON.stringify({ influxFlow: { ...diff, published: tap.published, batches: tap.batches.size } }),
    );
    expect(diff).toEqual({
      sent: LIMIT,
      stored: LIMIT,
      influxCount: LIMIT,
      missing: [],
      extra: [],
      different: [],
    });
    // The history API answers from InfluxDB: latest has every device's two metrics.
    const latest = await v.api<{ latest: { device: string }[] }>('/api/v1/latest');
    expect(latest.body.latest).toHaveLength(50);
  });
});
