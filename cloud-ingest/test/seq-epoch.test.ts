import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedSeqState } from '../src/broker/external-seq-state.js';
import { type Db, openDatabase } from '../src/store/open-database.js';
import { type SeqState, createSeqState } from '../src/store/seq-state.js';

const E1 = 'a'.repeat(32);
const E2 = 'b'.repeat(32);

describe.each([
  ['in-process', createSeqState],
  ['shared (external broker)', (db: Db) => createSharedSeqState(db)],
] as const)('dedupe on (edge, epoch, seq): %s', (_name, create) => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-epoch-'));
    dirs.push(dir);
    const db = openDatabase(dir);
    dbs.push(db);
    return { dir, db, state: create(db) };
  };
  const commit = (db: Db, state: SeqState, seq: number, epoch: string) =>
    db.transaction(() => state.record('e', seq, epoch))()();
  afterEach(() => {
    for (const db of dbs.splice(0)) if (db.open) db.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('takes the seqs of a new epoch as new, and reports the change once', () => {
    const { db, state } = open();
    expect(state.epochChange('e', E1)).toBeUndefined(); // the edge's first epoch: nothing to report
    for (const s of [1, 2, 3]) commit(db, state, s, E1);
    expect(state.epochChange('e', E1)).toBeUndefined();
    // The outbox was wiped: seq 1 again, under a new epoch.
    expect(state.isCommitted('e', 1, E2)).toBe(false);
    expect(state.epochChange('e', E2)).toEqual({ oldEpoch: E1, oldHighWater: 3 });
    commit(db, state, 1, E2);
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
    const dir = mkdtempSync(join(tmpdir(), 'seq-epoch-'));
    dirs.push(dir);
    const old = openDatabase(dir);
    old.exec(`
      CREATE TABLE edge_seq_state (edge TEXT PRIMARY KEY, high_water INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE edge_seq_above (edge TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (edge, seq)) WITHOUT ROWID;
      INSERT INTO edge_seq_state VALUES ('e', 5);
      INSERT INTO edge_seq_above VALUES ('e', 7);
    `);
    old.close();
    const db = openDatabase(dir);
    dbs.push(db);
    const state = create(db);
    // An edge that sends no epoch keeps its stream: 1..5 and 7 are duplicates, 6 is new.
    expect(state.isCommitted('e', 5)).toBe(true);
    expect(state.isCommitted('e', 7)).toBe(true);
    expect(state.isCommitted('e', 6)).toBe(false);
    commit(db, state, 6, '');
    expect(state.snapshot('e')).toEqual({ highWater: 7, above: [] });
    // The same edge upgraded onto a fresh outbox: a new epoch, reported, its seq 1 new.
    expect(state.epochChange('e', E1)).toEqual({ oldEpoch: '', oldHighWater: 7 });
    expect(state.isCommitted('e', 1, E1)).toBe(false);
  });
});
