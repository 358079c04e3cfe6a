import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEGACY_EPOCH } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import { openSqliteSharedStore } from '../src/shared-store/sqlite-shared-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { createSeqState } from '../src/store/seq-state.js';
import { runAirQualitySuite } from './shared-air-quality-suite.js';
import { runDeadLettersSuite } from './shared-dead-letters-suite.js';
import { runDeliveriesSuite } from './shared-deliveries-suite.js';
import { runDeviceOwnersSuite } from './shared-device-owners-suite.js';
import { runHostBeatsSuite } from './shared-host-beats-suite.js';
import { runRegistrySuite } from './shared-registry-suite.js';
import { runRuleCommandsSuite } from './shared-rule-commands-suite.js';
import { runRuleViewsSuite } from './shared-rule-views-suite.js';
import { runSeriesCatalogSuite } from './shared-series-catalog-suite.js';
import { runSessionsSuite } from './shared-sessions-suite.js';
import { runSharedStoreSuite } from './shared-store-suite.js';
import { openSqliteStoreInThread } from './sqlite-store-thread.js';

// A fresh cloud.db; each store its own connection to it, as each worker of one host has.
const perConnection = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-shared-store-'));
  const dbs: ReturnType<typeof openDatabase>[] = [];
  return {
    async open() {
      const db = openDatabase(dir);
      dbs.push(db);
      return openSqliteSharedStore(db);
    },
    async dispose() {
      for (const db of dbs) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
// The same, each store in a thread of its own, so commits and claims truly overlap (as the workers
// of one host, separate processes, do); runs the built store (dist).
const perThread = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-shared-store-threads-'));
  return {
    open: async () => openSqliteStoreInThread(dir),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

runSharedStoreSuite('sqlite', perConnection);
runSharedStoreSuite('sqlite, a thread per store', perThread);
runDeviceOwnersSuite('sqlite', perThread);
runSessionsSuite('sqlite', perConnection);
runSeriesCatalogSuite('sqlite', perConnection);
runRegistrySuite('sqlite', perConnection);
runDeadLettersSuite('sqlite', perThread);
runHostBeatsSuite('sqlite', perThread);
runRuleViewsSuite('sqlite', perConnection);
runAirQualitySuite('sqlite', perConnection);
runRuleCommandsSuite('sqlite', perConnection);
runDeliveriesSuite('sqlite', perConnection);

describe('SQLite shared store on an existing cloud.db', () => {
  it("reads and extends the dedupe state a single-host cloud recorded (store/seq-state.ts's tables)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqlite-shared-existing-'));
    try {
      const before = openDatabase(dir);
      const seqs = createSeqState(before);
      before.transaction(() => {
        seqs.record('old-edge', 1, LEGACY_EPOCH)(); // before its outbox had epochs
        for (const q of [1, 2, 5]) seqs.record('old-edge', q, 'E')();
      })();
      before.close();

      const db = openDatabase(dir);
      const store = openSqliteSharedStore(db);
      expect(await store.snapshot('old-edge', 'E')).toEqual({ highWater: 2, above: [5] });
      expect(await store.isCommitted('old-edge', LEGACY_EPOCH, 1)).toBe(true);
      expect(await store.epochChange('old-edge', 'F')).toEqual({ oldEpoch: 'E', oldHighWater: 2 });
      const item = (seq: number) => ({
        edge: 'old-edge',
        epoch: 'E',
        seq,
        receivedAt: seq,
        partition: 'v1',
        batch: new Uint8Array([seq]),
      });
      expect(await store.recordCommits([3, 4, 5].map(item))).toEqual([true, true, false]);
      expect(await store.snapshot('old-edge', 'E')).toEqual({ highWater: 5, above: [] });
      expect((await store.readJournal('v1', 0, 10)).map((r) => r.seq)).toEqual([3, 4]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
