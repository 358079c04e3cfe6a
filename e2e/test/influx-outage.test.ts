import { fetchMetrics, influxReadings, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Influxd, influxSink, startInfluxd } from './harness/broker-and-influx.js';
import { type Village, createVillage } from './harness/village.js';

const OUTAGE_MS = 30_000;
const LIMIT = 40_000;

describe('InfluxDB stopped for 30 s mid-flow (embedded broker)', () => {
  let influxd: Influxd;
  let v: Village;
  beforeAll(async () => {
    influxd = await startInfluxd(['village']);
    v = await createVillage('influx-outage', { cloud: { sink: influxSink(influxd) } });
  });
  afterAll(async () => {
    await v?.cleanup();
    await influxd?.dispose();
  });

  it('the cloud stops acking, the edge buffers, memory stays flat; on return everything arrives exactly once', async () => {
    await v.startCloud();
    // 20 devices × 2 metrics every 50 ms = 800 readings/s, stopping at LIMIT (~50 s).
    await v.startEdge({ devices: 20, intervalMs: 50, limit: LIMIT });
    const cloudMetrics = () => fetchMetrics(`http://127.0.0.1:${v.httpPort}/metrics`);
    await waitFor(
      'readings in InfluxDB',
      async () => (await influxReadings(influxd, 'village')).count >= 2_000,
    );

    await influxd.stop();
    const downAt = Date.now();
    let rssMax = 0;
    let depthMax = 0;
    // Wait out the outage on the edge's and the cloud's own figures.
    await waitFor(
      '30 s of InfluxDB outage',
      async () => {
        const [c, e] = [await cloudMetrics(), await v.edgeMetrics()];
        rssMax = Math.max(rssMax, c.get('process_resident_memory_bytes') ?? 0);
        depthMax = Math.max(depthMax, e.get('edge_outbox_depth_readings') ?? 0);
        return Date.now() - downAt >= OUTAGE_MS;
      },
      { timeoutMs: OUTAGE_MS + 10_000, intervalMs: 1_000 },
    );
    const during = await cloudMetrics();
    // The sink felt it, and the edge kept what it could not deliver.
    const failures = [...during]
      .filter(([k]) => k.startsWith('cloud_influx_write_failures_total'))
      .reduce((a, [, n]) => a + n, 0);
    expect(failures).toBeGreaterThan(0);
    expect(depthMax).toBeGreaterThan(10_000);

    await influxd.start();
    await v.allAcked(LIMIT, 120_000);
    const stored = await influxReadings(influxd, 'village');
    const rssMiB = Math.round(rssMax / 2 ** 20);
    console.log(
      JSON.stringify({
        influxOutage: {
          accepted: LIMIT,
          stored: stored.points.size,
          influxCount: stored.count,
          edgeBacklogMax: depthMax,
          cloudRssMaxMiB: rssMiB,
        },
      }),
    );
    // Keyed points: a duplicate would overwrite, a loss would show as a smaller count.
    expect([stored.points.size, stored.count]).toEqual([LIMIT, LIMIT]);
    // One batch in flight to the sink and a bounded retry buffer: the cloud does not grow with the backlog.
    expect(rssMiB).toBeLessThan(300);
  });
});
