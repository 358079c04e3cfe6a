import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage, storedKeys } from './harness/village.js';

describe('edge → cloud, stored once', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('flow');
  });
  afterAll(() => v.cleanup());

  it('50,000 readings flow through real processes and every one is stored exactly once', async () => {
    await v.startCloud();
    // 50 devices x 4 metrics per 10 ms tick: 20,000 readings/s offered, stopping at 50,000.
    await v.startEdge({
      devices: 50,
      intervalMs: 10,
      limit: 50_000,
      metrics: [
        { name: 'pm2_5', unit: 'µg/m³' },
        { name: 'pm10', unit: 'µg/m³' },
        { name: 'temperature', unit: '°C' },
        { name: 'humidity', unit: '%' },
      ],
    });
    await waitFor('50,000 readings stored', () => v.storedCount() >= 50_000, {
      timeoutMs: 120_000,
      intervalMs: 200,
    });
    const m = await waitFor('the edge outbox to drain', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_outbox_depth_readings') === 0 && m.get('edge_outbox_batches') === 0 ? m : undefined;
    });
    expect(m.get('edge_readings_accepted_total')).toBe(50_000);
    const [row] = v.query<{ n: number; rewrites: number }>(
      'SELECT COUNT(*) AS n, SUM(rewrites) AS rewrites FROM readings',
    );
    expect(row).toEqual({ n: 50_000, rewrites: 0 });
    expect(storedKeys(v).size).toBe(50_000);
    // place tags travel with the data
    const tags = v.query<{ county: string; town: string; village: string; station: string }>(
      'SELECT DISTINCT county, town, village, station FROM series',
    );
    expect(tags).toEqual([{ county: 'c1', town: 't1', village: 'v1', station: 's1' }]);
    // and the API sees it
    const { devices } = (await (await fetch(`http://127.0.0.1:${v.httpPort}/api/v1/devices`)).json()) as {
      devices: unknown[];
    };
    expect(devices.length).toBe(50);
  });
});
