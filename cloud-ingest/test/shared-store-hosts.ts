import { afterAll, beforeAll } from 'vitest';
import type { SharedStore } from '../src/shared-store/shared-store.js';

/**
 * What every SharedStore suite is given (sqlite-shared-store.test.ts, postgres-shared-store.test.ts):
 * a fresh, empty database, and `open()` a new store on it, as each ingest host has its own.
 */
export type SharedDatabase = () => Promise<{ open(): Promise<SharedStore>; dispose(): Promise<void> }>;

/**
 * Two stores on one fresh database, host A and host B, opened before the enclosing `describe`'s
 * tests and closed after them (call it inside the `describe`). Each of the two values forwards to
 * its store once that is open, so a suite names them `a` and `b` as it would the stores.
 */
export function twoHosts(makeDatabase: SharedDatabase): [SharedStore, SharedStore] {
  const stores: SharedStore[] = [];
  let db: Awaited<ReturnType<SharedDatabase>> | undefined;
  beforeAll(async () => {
    db = await makeDatabase();
    stores.push(...(await Promise.all([db.open(), db.open()])));
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await db?.dispose();
  });
  const host = (i: number) =>
    new Proxy({} as SharedStore, { get: (_target, key) => Reflect.get(stores[i]!, key) });
  return [host(0), host(1)];
}
