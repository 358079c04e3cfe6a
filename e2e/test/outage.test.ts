import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/** Long enough for a backlog of 300,000 readings and some 50 events raised meanwhile. */
const OUTAGE_MS = 30_000;
/** The edge raises a test SOS this often, ms. */
const EVENT_EVERY_MS = 500;

describe('cloud down for 30 s', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('outage');
  });
  afterAll(() => v.cleanup());

  it('the edge buffers; on return the backlog drains and a new event overtakes the older telemetry', async () => {
    await v.startCloud();
    // 100 devices x 4 metrics every 40 ms = 10,000 readings/s; an SOS test event every 500 ms.
    await v.startEdge({
      devices: 100,
      intervalMs: 40,
      eventEveryMs: EVENT_EVERY_MS,
      metrics: [
        { name: 'pm2_5', unit: 'µg/m³' },
        { name: 'pm10', unit: 'µg/m³' },
        { name: 'temperature', unit: '°C' },
        { name: 'humidity', unit: '%' },
      ],
    });
    await waitFor('readings flowing', () => v.storedCount() >= 2_000, { timeoutMs: 30_000 });
    await v.cloud!.stop();
    const downAt = Date.now();
    const storedAtOutage = v.storedCount();
    await waitFor(
      'the edge to see the uplink down',
      async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 0,
    );
    // Wait out the outage on the edge's own figures: it keeps accepting while the cloud is away.
    await waitFor('the outage', () => Date.now() - downAt >= OUTAGE_MS, {
      timeoutMs: OUTAGE_MS + 5_000,
      intervalMs: 1_000,
    });
    const backlog = (await v.edgeMetrics()).get('edge_outbox_depth_readings')!;
    expect(backlog).toBeGreaterThan(100_000);

    await v.startCloud();
    const upAt = Date.now();
    // The first event raised after the cloud came back, as the cloud stores it.
    const seenAt = await waitFor(
      'an event raised during the drain',
      () => {
        const [e] = v.query<{ ts: number }>(
          "SELECT ts FROM events WHERE type = 'sos' AND ts >= ? LIMIT 1",
          upAt,
        );
        if (!e) return undefined;
        return {
          oldStored: v.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings WHERE ts < ?', upAt)[0]!.n,
        };
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    await waitFor(
      'the backlog to drain',
      async () => (await v.edgeMetrics()).get('edge_outbox_depth_readings')! < 5_000,
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    const oldTotal = v.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings WHERE ts < ?', upAt)[0]!.n;
    const backlogTotal = oldTotal - storedAtOutage;
    const drainedFirst = seenAt.oldStored - storedAtOutage;
    console.log(
      JSON.stringify({ outage: { backlog: backlogTotal, backlogStoredBeforeTheEvent: drainedFirst } }),
    );
    // When the new event was stored, most of the older telemetry was still on its way.
    expect(drainedFirst).toBeLessThan(backlogTotal / 2);
    // Events raised during the outage are stored, and marked historical.
    const during = v.query<{ historical: number }>(
      "SELECT historical FROM events WHERE type = 'sos' AND ts > ? AND ts < ?",
      downAt + 2_000,
      upAt - 2_000,
    );
    // Nearly every one raised in that window (2 s trimmed at each end): at most a fifth missing.
    expect(during.length).toBeGreaterThan(((OUTAGE_MS - 4_000) / EVENT_EVERY_MS) * 0.8);
    expect(during.every((e) => e.historical === 1)).toBe(true);
    const [row] = v.query<{ rewrites: number }>('SELECT SUM(rewrites) AS rewrites FROM readings');
    expect(row!.rewrites).toBe(0);
  });
});
