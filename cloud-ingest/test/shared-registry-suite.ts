import { describe, expect, it } from 'vitest';
import type { RegistryFile } from '../src/registry-file.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import type { SharedRegistry } from '../src/store/shared-registry-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The contract of SharedStore.registry (store/shared-registry-store.ts): one versioned document
 * whose writes, from any host, run one after the other under its lock. Run from
 * sqlite-shared-store.test.ts and postgres-shared-store.test.ts with the same `makeDatabase` as
 * shared-store-suite.ts; several stores on one database stand for several hosts.
 */
export function runRegistrySuite(name: string, makeDatabase: SharedDatabase): void {
  const user = (username: string): NonNullable<RegistryFile['users']>[number] => ({
    username,
    name: username,
    role: 'admin',
    passwordHash: `scrypt$${username}`,
  });
  const docOf = (usernames: string[]): RegistryFile => ({
    counties: [],
    people: [],
    devices: [],
    users: usernames.map(user),
  });
  const names = (doc: RegistryFile | undefined) => (doc?.users ?? []).map((u) => u.username);

  describe(`SharedStore registry: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('before any write: version 0 and no document; the first write is version 1, read on the other host', async () => {
      expect(await b.registry.version()).toBe(0);
      expect(await b.registry.read()).toBeUndefined();
      const seen: unknown[] = [];
      const written = await a.registry.update((latest) => {
        seen.push(latest);
        return { doc: docOf(['first']), fileSha256: 'f1' };
      });
      expect(seen).toEqual([undefined]);
      expect(written).toEqual({ version: 1, doc: docOf(['first']), fileSha256: 'f1' });
      expect(await b.registry.version()).toBe(1);
      expect(await b.registry.read()).toEqual({ version: 1, doc: docOf(['first']), fileSha256: 'f1' });
    });

    it('a change that returns nothing writes nothing; one that throws writes nothing and the caller gets the error', async () => {
      const v = await a.registry.version();
      expect((await b.registry.update(() => undefined))?.version).toBe(v);
      await expect(
        b.registry.update(() => {
          throw new Error('refused by the check');
        }),
      ).rejects.toThrow('refused by the check');
      expect(await a.registry.version()).toBe(v);
      expect(names((await a.registry.read())?.doc)).toEqual(['first']);
    });

    it('two hosts writing at once: every change is made on the latest document, none is lost, versions one by one', async () => {
      const start = await a.registry.version();
      const N = 15;
      const seenVersions: number[] = [];
      const writer = async (store: SharedStore, tag: string) => {
        for (let i = 0; i < N; i++) {
          await store.registry.update((latest) => {
            seenVersions.push(latest!.version);
            // Read-modify-write of the whole document: without the lock one host's add would be lost.
            return { doc: docOf([...names(latest!.doc), `${tag}-${i}`]), fileSha256: latest!.fileSha256 };
          });
        }
      };
      await Promise.all([writer(a, 'a'), writer(b, 'b')]);
      const last = (await b.registry.read())!;
      expect(last.version).toBe(start + 2 * N);
      expect(new Set(names(last.doc))).toEqual(
        new Set(['first', ...['a', 'b'].flatMap((t) => Array.from({ length: N }, (_, i) => `${t}-${i}`))]),
      );
      // Each change saw the version the one before wrote: never two on the same version.
      expect([...seenVersions].sort((x, y) => x - y)).toEqual(
        Array.from({ length: 2 * N }, (_, i) => start + i),
      );
      expect(last.fileSha256).toBe('f1');
    });

    it('a write sets the device owners its document names, over claims, for every host; a device it names no longer loses its owner', async () => {
      const naming = (latest: SharedRegistry | undefined, devices: [string, string][]) => ({
        doc: {
          ...latest!.doc,
          devices: devices.map(([id, edge]) => ({ id, edge, kind: 'air-quality', driver: 'modbus' })),
        },
        fileSha256: latest!.fileSha256,
      });
      const claim = (edge: string, devices: string[]) =>
        b.deviceOwners.claim(devices.map((device) => ({ device, edge, source: 'reading' as const })));
      await claim('edge-9', ['m-1', 'm-3']);
      await a.registry.update((latest) =>
        naming(latest, [
          ['m-1', 'edge-1'],
          ['m-2', 'edge-2'],
        ]),
      );
      const owners = await b.deviceOwners.owners();
      expect([owners.get('m-1'), owners.get('m-2'), owners.get('m-3')]).toEqual([
        'edge-1',
        'edge-2',
        'edge-9',
      ]);
      expect(await claim('edge-9', ['m-1'])).toEqual(new Map([['m-1', 'edge-1']]));
      // Moved (m-1) and removed (m-2) through the other host; a claim (m-3) is not the registry's.
      await b.registry.update((latest) => naming(latest, [['m-1', 'edge-2']]));
      const after = await a.deviceOwners.owners();
      expect([after.get('m-1'), after.has('m-2'), after.get('m-3')]).toEqual(['edge-2', false, 'edge-9']);
      // The first claim after the removal wins.
      expect(await claim('edge-7', ['m-2'])).toEqual(new Map([['m-2', 'edge-7']]));
      // A change the check refuses moves nothing.
      await expect(
        a.registry.update((latest) => {
          naming(latest, [['m-1', 'edge-3']]);
          throw new Error('refused by the check');
        }),
      ).rejects.toThrow('refused by the check');
      expect((await b.deviceOwners.owners()).get('m-1')).toBe('edge-2');
    });

    it('claims while the registry moves the same devices: no deadlock, and the registry owns them all at the end', async () => {
      const devices = Array.from({ length: 40 }, (_, i) => `mv-${i}`);
      for (let round = 0; round < 4; round++) {
        const edge = `edge-r${round}`;
        const [, fromClaim] = await Promise.all([
          a.registry.update((latest) => ({
            doc: {
              ...latest!.doc,
              // Every other round names none of them: a removal of all 40.
              devices:
                round % 2 === 1
                  ? []
                  : devices.map((id) => ({ id, edge, kind: 'air-quality', driver: 'modbus' })),
            },
            fileSha256: latest!.fileSha256,
          })),
          b.deviceOwners.claim(
            [...devices].reverse().map((device) => ({ device, edge: 'edge-c', source: 'reading' })),
          ),
        ]);
        expect(fromClaim.size).toBe(devices.length);
        const owners = await b.deviceOwners.owners();
        for (const d of devices) {
          if (round % 2 === 0) expect(owners.get(d)).toBe(edge);
          // Removed: the claim's owner if it came after, else nobody's.
          else expect([undefined, 'edge-c']).toContain(owners.get(d));
          expect([edge, 'edge-c', `edge-r${round - 1}`]).toContain(fromClaim.get(d));
        }
      }
    });
  });
}
