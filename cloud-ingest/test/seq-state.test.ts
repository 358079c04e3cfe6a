import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../src/store/open-database.js';
import { createSeqState } from '../src/store/seq-state.js';

describe('per-edge dedupe state (high-water mark + committed seqs above it)', () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  const open = (dir: string) => {
    const db = openDatabase(dir);
    dbs.push(db);
    return { db, state: createSeqState(db) };
  };
  const commit = (db: Db, state: ReturnType<typeof createSeqState>, edge: string, seq: number) => {
    const apply = db.transaction(() => state.record(edge, seq))();
    apply();
  };
  afterEach(() => {
    for (const db of dbs.splice(0)) if (db.open) db.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('advances H over seqs committed out of order (3, 1, 2) and survives reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-state-'));
    dirs.push(dir);
    let { db, state } = open(dir);
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

    ({ db, state } = open(dir));
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
    const dir = mkdtempSync(join(tmpdir(), 'seq-state-'));
    dirs.push(dir);
    const { db, state } = open(dir);
    expect(() =>
      db.transaction(() => {
        state.record('e', 1);
        throw new Error('sink failed');
      })(),
    ).toThrow('sink failed');
    expect(state.isCommitted('e', 1)).toBe(false);
    expect(db.prepare('SELECT COUNT(*) AS n FROM edge_seq_state').get()).toEqual({ n: 0 });
  });
});
