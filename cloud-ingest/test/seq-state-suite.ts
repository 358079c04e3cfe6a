import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../src/store/open-database.js';
import type { SeqState } from '../src/store/seq-state.js';

const E1 = 'a'.repeat(32);
const E2 = 'b'.repeat(32);

/**
 * The contract every SeqState implementation must pass (store/seq-state.ts): run it from one test
 * file per implementation. `create` opens the implementation on a fresh or reopened database.
 */
export function runSeqStateSuite(name: string, create: (db: Db) => SeqState): void {
  describe(`SeqState contract: ${name}`, () => {
    const dirs: string[] = [];
    const dbs: Db[] = [];
    const tempDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'seq-state-'));
      dirs.push(dir);
      return dir;
    };
    const openIn = (dir: string) => {
      const db = openDatabase(dir);
      dbs.push(db);
      return { db, state: create(db) };
    };
    const commit = (db: Db, state: SeqState, edge: string, seq: number, epoch?: string) =>
      db.transaction(() => state.record(edge, seq, epoch))()();
    afterEach(() => {
      for (const db of dbs.splice(0)) if (db.open) db.close();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    it('advances H over seqs committed out of order (3, 1, 2) and survives reopening', () => {
      const dir = tempDir();
      let { db, state } = openIn(dir);
      expect(state.isCommitted('e', 1)).toBe(false);
      commit(db, state, 'e', 3);
      expect(state.snapshot('e')).toEqual({ highWater: 0, above: [3] });
      commit(db, state, 'e', 1);
      expect(state.snapshot('e')).toEqual({ highWater: 1, above: [3] });
      commit(db, state, 'e', 2);
      expect(state.snapshot('e')).toEqual({ highWater: 3, above: [] });
      commit(db, state, 'e', 6);
      commit(db, state, 'other', 1);
      db.close();

      ({ db, state } = openIn(dir));
      expect(state.snapshot('e')).toEqual({ highWater: 3, above: [6] });
      expect([1, 2, 3, 4, 5, 6, 7].map((s) => state.isCommitted('e', s))).toEqual([
        true,
        true,
        true,
        false,
        false,
        true,
        false,
      ]);
      expect(state.snapshot('other')).toEqual({ highWater: 1, above: [] });
      commit(db, state, 'e', 4);
      commit(db, state, 'e', 5);
      expect(state.snapshot('e')).toEqual({ highWater: 6, above: [] });
      expect(db.prepare('SELECT COUNT(*) AS n FROM edge_seq_above').get()).toEqual({ n: 0 });
    });

    it('leaves memory untouched when the transaction rolls back', () => {
      const { db, state } = openIn(tempDir());
      expect(() =>
        db.transaction(() => {
          state.record('e', 1);
          throw new Error('sink failed');
        })(),
      ).toThrow('sink failed');
      expect(state.isCommitted('e', 1)).toBe(false);
      expect(db.prepare('SELECT COUNT(*) AS n FROM edge_seq_state').get()).toEqual({ n: 0 });
    });

    it('composes several records in one transaction (a group commit), applied in record order', () => {
      const { db, state } = openIn(tempDir());
      const applies = db.transaction(() => [3, 1, 2, 5].map((seq) => state.record('e', seq)))();
      for (const apply of applies) apply();
      expect(state.snapshot('e')).toEqual({ highWater: 3, above: [5] });
      expect([3, 4, 5].map((s) => state.isCommitted('e', s))).toEqual([true, false, true]);
    });

    it('takes the seqs of a new epoch as new, and reports the change once', () => {
      const { db, state } = openIn(tempDir());
      expect(state.epochChange('e', E1)).toBeUndefined(); // the edge's first epoch: nothing to report
      for (const s of [1, 2, 3]) commit(db, state, 'e', s, E1);
      expect(state.epochChange('e', E1)).toBeUndefined();
      // The outbox was wiped: seq 1 again, under a new epoch.
      expect(state.isCommitted('e', 1, E2)).toBe(false);
      expect(state.epochChange('e', E2)).toEqual({ oldEpoch: E1, oldHighWater: 3 });
      commit(db, state, 'e', 1, E2);
      expect(state.epochChange('e', E2)).toBeUndefined();
      expect(state.isCommitted('e', 1, E2)).toBe(true);
      expect(state.isCommitted('e', 2, E2)).toBe(false);
      // A late resend of the old epoch is still a duplicate there, and no second change.
      expect(state.isCommitted('e', 3, E1)).toBe(true);
      expect(state.epochChange('e', E1)).toBeUndefined();
      expect(state.snapshot('e', E1)).toEqual({ highWater: 3, above: [] });
      expect(state.snapshot('e', E2)).toEqual({ highWater: 1, above: [] });
    });

    it('reads the state of a cloud from before epochs as the legacy epoch', () => {
      const dir = tempDir();
      const old = openDatabase(dir);
      old.exec(`
        CREATE TABLE edge_seq_state (edge TEXT PRIMARY KEY, high_water INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE edge_seq_above (edge TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (edge, seq)) WITHOUT ROWID;
        INSERT INTO edge_seq_state VALUES ('e', 5);
        INSERT INTO edge_seq_above VALUES ('e', 7);
      `);
      old.close();
      const { db, state } = openIn(dir);
      // An edge that sends no epoch keeps its stream: 1..5 and 7 are duplicates, 6 is new.
      expect(state.isCommitted('e', 5)).toBe(true);
      expect(state.isCommitted('e', 7)).toBe(true);
      expect(state.isCommitted('e', 6)).toBe(false);
      commit(db, state, 'e', 6, '');
      expect(state.snapshot('e')).toEqual({ highWater: 7, above: [] });
      // The same edge upgraded onto a fresh outbox: a new epoch, reported, its seq 1 new.
      expect(state.epochChange('e', E1)).toEqual({ oldEpoch: '', oldHighWater: 7 });
      expect(state.isCommitted('e', 1, E1)).toBe(false);
    });
  });
}
