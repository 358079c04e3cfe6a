import { LEGACY_EPOCH } from '@village/protocol';
import type { Db } from './open-database.js';
import { type SeqState, ensureSeqTables, epochChangeIn, seqStatements } from './seq-state.js';

/**
 * The per-edge dedupe state (per outbox epoch, a high-water mark H plus the committed seqs above
 * it, DESIGN.md "Delivery, precisely") for several ingest workers sharing one SQLite file: same tables as
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
  ensureSeqTables(db);
  const st = seqStatements(db);
  const highOf = (edge: string, epoch: string) => st.selectHigh.get(edge, epoch)?.high_water ?? 0;
  const noop = () => {};

  return {
    isCommitted(edge, seq, epoch = LEGACY_EPOCH) {
      return seq <= highOf(edge, epoch) || st.hasAbove.get(edge, epoch, seq) !== undefined;
    },
    record(edge, seq, epoch = LEGACY_EPOCH) {
      // The lock-taking first statement: creates the stream's row if needed, changes nothing otherwise.
      st.openStream.run(edge, epoch, edge);
      const high = highOf(edge, epoch);
      if (seq <= high) return noop;
      if (seq !== high + 1) {
        if (st.insertAbove.run(edge, epoch, seq).changes > 0) onNewlyRecorded?.(edge, seq);
        return noop;
      }
      onNewlyRecorded?.(edge, seq);
      let next = seq;
      for (const { seq: above } of st.selectAboveFrom.all(edge, epoch, seq)) {
        if (above !== next + 1) break;
        next = above;
      }
      st.setHigh.run(next, edge, epoch);
      st.deleteUpTo.run(edge, epoch, next);
      return noop;
    },
    snapshot(edge, epoch = LEGACY_EPOCH) {
      const highWater = highOf(edge, epoch);
      return { highWater, above: st.selectAboveFrom.all(edge, epoch, highWater).map((r) => r.seq) };
    },
    epochChange: (edge, epoch) => epochChangeIn(st, edge, epoch),
  };
}
