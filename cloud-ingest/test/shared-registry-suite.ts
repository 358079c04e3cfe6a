import { describe, expect, it } from 'vitest';
import type { RegistryFile } from '../src/registry-file.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
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
  });
}
