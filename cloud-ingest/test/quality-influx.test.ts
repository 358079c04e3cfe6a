import type { Reading } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from './cloud-fixture.js';
import { type InfluxTestCloud, startInfluxTestCloud } from './influx-test-cloud.js';

const r = (value: number, ts: number): Reading => ({
  device: 'pm-9',
  metric: 'pm25',
  value,
  unit: 'µg/m³',
  ts,
  quality: 'good',
});

/**
 * The InfluxDB copy of the data flags, with a real influxd 1.6: a flag is a string field
 * `<metric>_flag` merged into the reading's own point (no second point), set by quality control
 * and by an officer's invalidation of a range (which finds the stored readings through InfluxQL).
 */
describe('quality flags in the InfluxDB sink', () => {
  let t: InfluxTestCloud;
  beforeAll(async () => {
    t = await startInfluxTestCloud();
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const rows = async () => {
    const [res] = await t.influxd.query(
      `SELECT "pm25", "pm25_flag" FROM "unknown" WHERE "device" = 'pm-9'`,
      'village',
    );
    return (res?.series?.[0]?.values ?? []) as [number, number, string | null][];
  };

  it('a negative reading gets pm25_flag "Q"; an invalidated range gets "I"; still one point per reading', async () => {
    await t.send('edge-1', [r(-2, T0), r(20, T0 + 60_000)]);
    await waitFor('the Q flag in InfluxDB', async () =>
      (await rows()).some((x) => x[0] === T0 && x[2] === 'Q'),
    );
    const inv = await t.api<{ change: { readings: number } }>('/api/v1/quality/invalidate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        device: 'pm-9',
        metric: 'pm25',
        from: T0,
        to: T0 + 120_000,
        reason: 'probe swapped',
      }),
    });
    expect(inv.body.change.readings).toBe(2);
    await waitFor('the I flags in InfluxDB', async () => (await rows()).every((x) => x[2] === 'I'));
    expect(await rows()).toEqual([
      [T0, -2, 'I'],
      [T0 + 60_000, 20, 'I'],
    ]);
  });
});
