import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db } from '../store/open-database.js';

/**
 * The committed-batch journal, writer side (docs/scaling.md "Rules with several workers"): every
 * ingest worker of an external-broker cloud appends each batch it newly commits to
 * `committed_journal`, in the transaction that records the batch's seq, so the one rules worker
 * can feed its engine every worker's batches in commit order.
 *
 * The id is AUTOINCREMENT so it never reuses the id of a pruned row (the reader's cursor would
 * skip one), and since SQLite has one writer at a time and assigns it inside the write
 * transaction, ids become visible in increasing order: a reader past id n never misses a smaller
 * one committed later.
 */
export const JOURNAL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS committed_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, edge TEXT NOT NULL, seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL, batch BLOB NOT NULL);
`;

/** A journal append outside a batch's ingest: a wiring bug, and rolling the commit back is safer than losing the batch for the rules. */
export class JournalContextError extends Error {
  override readonly name = 'JournalContextError';
}

/** The batch being recorded: its bytes as received, and when (its SinkBatch.receivedAt). */
export interface JournalMessage {
  payload: Uint8Array;
  receivedAt: number;
}

export interface JournalWriter {
  /**
   * Runs the recording of one batch's seq (batch-ingest.ts, inside the sink's transaction) with
   * its bytes at hand for `append`; each batch of a group commit is recorded in its own `during`.
   */
  during<T>(message: JournalMessage, work: () => T): T;
  /** Appends the message being ingested (call inside the transaction recording `seq` as newly committed). */
  append(edge: string, seq: number): void;
}

export function createJournalWriter(db: Db): JournalWriter {
  db.exec(JOURNAL_SCHEMA);
  const insert = db.prepare<[string, number, number, Buffer]>(
    'INSERT INTO committed_journal (edge, seq, received_at, batch) VALUES (?, ?, ?, ?)',
  );
  const current = new AsyncLocalStorage<JournalMessage>();
  return {
    during: (message, work) => current.run(message, work),
    append(edge, seq) {
      const m = current.getStore();
      if (m === undefined) {
        throw new JournalContextError(`seq ${seq} of edge ${edge} recorded outside a batch message`);
      }
      // better-sqlite3 binds Buffers, not plain Uint8Arrays: a view, no copy.
      const bytes = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
      insert.run(edge, seq, m.receivedAt, bytes);
    },
  };
}
