import type { Db } from './open-database.js';

/**
 * Per-edge dedupe state (DESIGN.md "Delivery, precisely"): a high-water mark H — every seq <= H
 * is committed; edge seqs start at 1, so H starts at 0 — plus the committed seqs above H.
 * When H+1 is committed, H advances over every contiguous committed seq and those rows go.
 * Writes happen inside the caller's transaction; memory follows only after that commits.
 * Several records in one transaction (a group commit) compose: `record` reads the database, where
 * the earlier ones of the transaction are visible, and their apply functions run in record order.
 */
export interface SeqState {
  isCommitted(edge: string, seq: number): boolean;
  /** Records `seq` as committed (inside the caller's transaction); returns the change to apply after commit. */
  record(edge: string, seq: number): () => void;
  /** H and the committed seqs above it, as held in memory. */
  snapshot(edge: string): { highWater: number; above: number[] };
}

interface EdgeSeqs {
  highWater: number;
  above: Set<number>;
}

export function createSeqState(db: Db): SeqState {
  db.exec(`
    CREATE TABLE IF NOT EXISTS edge_seq_state (edge TEXT PRIMARY KEY, high_water INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS edge_seq_above (edge TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (edge, seq)) WITHOUT ROWID;
  `);
  const selectHigh = db.prepare<[string], { high_water: number }>(
    'SELECT high_water FROM edge_seq_state WHERE edge = ?',
  );
  const selectAbove = db.prepare<[string], { seq: number }>('SELECT seq FROM edge_seq_above WHERE edge = ?');
  const selectAboveFrom = db.prepare<[string, number], { seq: number }>(
    'SELECT seq FROM edge_seq_above WHERE edge = ? AND seq > ? ORDER BY seq',
  );
  const upsertHigh = db.prepare<[string, number]>(
    'INSERT INTO edge_seq_state (edge, high_water) VALUES (?, ?) ON CONFLICT (edge) DO UPDATE SET high_water = excluded.high_water',
  );
  const insertAbove = db.prepare<[string, number]>(
    'INSERT OR IGNORE INTO edge_seq_above (edge, seq) VALUES (?, ?)',
  );
  const deleteUpTo = db.prepare<[string, number]>('DELETE FROM edge_seq_above WHERE edge = ? AND seq <= ?');
  const cache = new Map<string, EdgeSeqs>();

  function load(edge: string): EdgeSeqs {
    let s = cache.get(edge);
    if (s === undefined) {
      s = {
        highWater: selectHigh.get(edge)?.high_water ?? 0,
        above: new Set(selectAbove.all(edge).map((r) => r.seq)),
      };
      cache.set(edge, s);
    }
    return s;
  }

  return {
    isCommitted(edge, seq) {
      const s = load(edge);
      return seq <= s.highWater || s.above.has(seq);
    },
    record(edge, seq) {
      const s = load(edge);
      // Not from memory: an earlier record of this same transaction is only in the database yet.
      if (seq !== (selectHigh.get(edge)?.high_water ?? 0) + 1) {
        insertAbove.run(edge, seq);
        return () => s.above.add(seq);
      }
      let high = seq;
      for (const r of selectAboveFrom.iterate(edge, seq)) {
        if (r.seq !== high + 1) break;
        high = r.seq;
      }
      upsertHigh.run(edge, high);
      if (high > seq) deleteUpTo.run(edge, high);
      return () => {
        for (let q = seq + 1; q <= high; q++) s.above.delete(q);
        s.highWater = high;
      };
    },
    snapshot(edge) {
      const s = load(edge);
      return { highWater: s.highWater, above: [...s.above].sort((a, b) => a - b) };
    },
  };
}
