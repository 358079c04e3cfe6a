import { describe, expect, it } from 'vitest';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import type { DeviceClaim } from '../src/store/device-owner-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The device owners' contract (SharedStore `deviceOwners`), run from sqlite-shared-store.test.ts
 * and postgres-shared-store.test.ts with the same `makeDatabase` as shared-store-suite.ts: each
 * store its own Pool / connection, as each ingest host has. Device names are this suite's own.
 */
export function runDeviceOwnersSuite(name: string, makeDatabase: SharedDatabase): void {
  const claims = (edge: string, devices: string[], source: DeviceClaim['source'] = 'reading') =>
    devices.map((device) => ({ device, edge, source }));

  describe(`SharedStore device owners: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('the first claim wins, for every store, also when two stores claim the same devices at once', async () => {
      // One after the other: the second store's claim returns the first one's owner.
      expect(await a.deviceOwners.claim(claims('edge-1', ['o-1']))).toEqual(new Map([['o-1', 'edge-1']]));
      expect(await b.deviceOwners.claim(claims('edge-2', ['o-1', 'o-2'], 'birth'))).toEqual(
        new Map([
          ['o-1', 'edge-1'],
          ['o-2', 'edge-2'],
        ]),
      );
      // In one call, the first claim of a device in the list wins.
      expect(
        await a.deviceOwners.claim([...claims('edge-3', ['o-3']), ...claims('edge-4', ['o-3'])]),
      ).toEqual(new Map([['o-3', 'edge-3']]));
      // At once, in opposite orders, several rounds: each device gets one owner, and both stores
      // are told the same one.
      const devices = Array.from({ length: 40 }, (_, i) => `race-${i}`);
      for (let round = 0; round < 5; round++) {
        const batch = devices.map((d) => `${d}-${round}`);
        const [fromA, fromB] = await Promise.all([
          a.deviceOwners.claim(claims('edge-a', batch)),
          b.deviceOwners.claim(claims('edge-b', [...batch].reverse())),
        ]);
        expect(fromA.size).toBe(batch.length);
        expect(fromB).toEqual(fromA);
        for (const owner of fromA.values()) expect(['edge-a', 'edge-b']).toContain(owner);
        const stored = await b.deviceOwners.owners();
        for (const d of batch) expect(stored.get(d)).toBe(fromA.get(d));
      }
    });

    it("reads see the other store's claims", async () => {
      await a.deviceOwners.claim(claims('edge-1', ['r-1', 'r-2']));
      const seen = await b.deviceOwners.owners();
      expect(seen.get('r-1')).toBe('edge-1');
      expect(seen.get('r-2')).toBe('edge-1');
      expect(seen.has('r-3')).toBe(false);
      expect(await b.deviceOwners.claim(claims('edge-2', ['r-2']))).toEqual(new Map([['r-2', 'edge-1']]));
    });
  });
}
