import { describe, expect, it } from 'vitest';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The host beats' contract (SharedStore `hostBeats`), run from sqlite-shared-store.test.ts and
 * postgres-shared-store.test.ts: what one host beats, the other sees live until it expires or
 * the host leaves. Times are the caller's clock, as the lease rounds pass theirs.
 */
export function runHostBeatsSuite(name: string, makeDatabase: SharedDatabase): void {
  describe(`SharedStore host beats: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('a beat is live on every store until it expires; a new beat extends it; leave ends it at once', async () => {
      await a.hostBeats.beat('host-a', 1_000, 10_000);
      await b.hostBeats.beat('host-b', 5_000, 10_000);
      expect(await b.hostBeats.live(10_999)).toEqual(['host-a', 'host-b']);
      // Expired at exactly now + ttl, as a lease is.
      expect(await a.hostBeats.live(11_000)).toEqual(['host-b']);
      await a.hostBeats.beat('host-a', 1_000, 11_500);
      expect(await b.hostBeats.live(12_000)).toEqual(['host-a', 'host-b']);
      await b.hostBeats.leave('host-b');
      expect(await a.hostBeats.live(12_000)).toEqual(['host-a']);
      // Leaving twice, or a host never seen, is no error.
      await b.hostBeats.leave('host-b');
      await b.hostBeats.leave('nobody');
      expect(await b.hostBeats.live(20_000)).toEqual([]);
    });
  });
}
