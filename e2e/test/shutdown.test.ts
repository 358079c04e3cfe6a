import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/** Exit codes scripts and systemd can trust: a SIGTERM ends each process promptly with 0. */
describe('clean shutdown', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('shutdown');
  });
  afterAll(() => v.cleanup());

  it('the cloud exits 0 on SIGTERM with an edge connected; the edge exits 0 even when the cloud vanished at the same moment', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 5, intervalMs: 20 });
    await waitFor('readings flowing', () => v.storedCount() > 500);

    let t = Date.now();
    expect(await v.cloud!.stop()).toBe(0);
    expect(Date.now() - t).toBeLessThan(5_000);

    await v.startCloud();
    await waitFor(
      'the edge reconnected',
      async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 1,
    );
    // The broker disappears without a word while the edge is asked to stop: its offline status
    // can never be acknowledged, and the stop must not wait for it.
    const dying = v.cloud!.kill9();
    t = Date.now();
    expect(await v.edge!.stop()).toBe(0);
    expect(Date.now() - t).toBeLessThan(8_000);
    await dying;
  });
});
