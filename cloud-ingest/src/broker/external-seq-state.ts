import type { Db } from '../store/open-database.js';
import type { SeqState } from '../store/seq-state.js';

/**
 * The per-edge dedupe state (high-water mark H plus the committed seqs above it, DESIGN.md
 * "Delivery, precisely") for several ingest workers sharing one SQLite file: same tables as
 * store/seq-state.ts, but no in-process cache, because another worker may have committed a seq of
 * the same edge a moment ago.
 *
 * Race-free across processes: `record` runs inside the caller's transaction and its first
 * statement is a write, so SQLite takes the database's write lock before anything is read
 * (waiting under busy_timeout, and retrying with a fresh snapshot, as BEGIN IMMEDIATE would).
 * Two workers committing seqs 7 and 8 of one edge therefore apply their updates one after the
 * other, each on the other's result; a seq recorded twice (a resend that reached both) is a no-op.
 */
export function createSharedSeqState(
  db: Db,
  /** Called inside `record`'s transaction when the seq is newly committed (not a repeat): the journal append. */
  onNewlyRecorded?: (edge: string, seq: number) => void,
): SeqState {
  db.exec(`
    CREATE TABLE IF NOT EXISTS edge_seq_state (edge TEXT PRIMARY KEY, high_water INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS edge_seq_above (edge TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (edge, seq)) WITHOUT ROWID;
  `);
  // The lock-taking first statement: creates the edge's row if needed, changes nothing otherwise.
  const lockEdge = db.prepare<[string]>(
    'INSERT INTO edge_seq_state (edge, high_water) VALUES (?, 0) ON CONFLICT (edge) DO NOTHING',
  );
  const selectHigh = db.prepare<[string], { high_water: number }>(
    'SELECT high_water FROM edge_seq_state WHERE edge = ?',
  );
  const selectAbove = db.prepare<[string, number], { seq: number }>(
    'SELECT seq FROM edge_seq_above WHERE edge = ? AND seq > ? ORDER BY seq',
  );
  const hasAbove = db.prepare<[string, number], { one: number }>(
    'SELECT 1 AS one FROM edge_seq_above WHERE edge = ? AND seq = ?',
  );
  const setHigh = db.prepare<[number, string]>('UPDATE edge_seq_state SET high_water = ? WHERE edge = ?');
  const insertAbove = db.prepare<[string, number]>(
    'INSERT OR IGNORE INTO edge_seq_above (edge, seq) VALUES (?, ?)',
  );
  const deleteUpTo = db.prepare<[string, number]>('DELETE FROM edge_seq_above WHERE edge = ? AND seq <= ?');
  const highOf = (edge: string) => selectHigh.get(edge)?.high_water ?? 0;
  const noop = () => {};

  return {
    isCommitted(edge, seq) {
      return seq <= highOf(edge) || hasAbove.get(edge, seq) !== undefined;
    },
    record(edge, seq) {
      lockEdge.run(edge);
      const high = highOf(edge);
      if (seq <= high) return noop;
      if (seq !== high + 1) {
        if (insertAbove.run(edge, seq).changes > 0) onNewlyRecorded?.(edge, seq);
        return noop;
      }
      onNewlyRecorded?.(edge, seq);
      let next = seq;
      for (const { seq: above } of selectAbove.all(edge, seq)) {
        if (above !== next + 1) break;
        next = above;
      }
      setHigh.run(next, edge);
      deleteUpTo.run(edge, next);
      return noop;
    },
    snapshot(edge) {
      const highWater = highOf(edge);
      return { highWater, above: selectAbove.all(edge, highWater).map((r) => r.seq) };
    },
  };
}
