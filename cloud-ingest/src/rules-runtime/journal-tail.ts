import { ProtocolError, decodeBatch } from '@village/protocol';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { JOURNAL_SCHEMA } from '../broker/external-journal.js';
import type { CommittedFeed } from '../ingest/committed-feed.js';
import {
  type TimeWindow,
  believableOnly,
  latestRange,
  markSuspectTimes,
} from '../sink/reading-time-window.js';
import type { PlaceTags } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';

/** The rules state was about to be written by a worker that no longer holds the rules lease. */
export class RulesLeaseLostError extends Error {
  override readonly name = 'RulesLeaseLostError';
}

export interface JournalTailDeps {
  db: Db;
  /** Publishes each journal batch, in journal order (the rules runtime and the live stream subscribe). */
  feed: CommittedFeed;
  placeOf(edgeId: string): PlaceTags;
  /** The ingest's believable reading times: readings outside are not fed (reading-time-window.ts). */
  timeWindow: TimeWindow;
  log: Logger;
  /** Wait between reads that found nothing new, ms. */
  pollMs: number;
  /** Rows per read. */
  rowsPerPoll: number;
  /** Does this worker still hold the rules lease? Checked in the state transaction. */
  fence(): boolean;
  /** result: fed | undecodable */
  rows: Counter<'result'>;
}

export interface JournalTail {
  /** Begins reading after the saved cursor (call once the rules runtime subscribed to `feed`). */
  start(): void;
  /**
   * Call inside the rules state transaction: saves the cursor (the last row fed, hence reflected
   * in the state written with it) and deletes the rows up to it. Refuses when the lease was lost.
   */
  saveCursor(): void;
  /** Last journal id fed. */
  cursor(): number;
  close(): void;
}

/**
 * Tails `committed_journal` (broker/external-journal.ts) for the one rules worker of an
 * external-broker cloud: reads bounded pages of rows after its cursor, decodes each batch as the
 * ingest did, and publishes it. Rows are deleted only up to the cursor saved with the rules state,
 * so after a crash the rows the lost state had seen are read again into the state as it was saved:
 * nothing skipped, nothing counted twice.
 */
export function openJournalTail(deps: JournalTailDeps): JournalTail {
  const { db, log } = deps;
  db.exec(`${JOURNAL_SCHEMA}
    CREATE TABLE IF NOT EXISTS rules_journal_cursor (
      id INTEGER PRIMARY KEY CHECK (id = 1), journal_id INTEGER NOT NULL);`);
  const loadCursor = db.prepare<[], { journal_id: number }>(
    'SELECT journal_id FROM rules_journal_cursor WHERE id = 1',
  );
  const storeCursor = db.prepare<[number]>(
    `INSERT INTO rules_journal_cursor (id, journal_id) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET journal_id = excluded.journal_id`,
  );
  const prune = db.prepare<[number]>('DELETE FROM committed_journal WHERE id <= ?');
  const page = db.prepare<
    [number, number],
    { id: number; edge: string; seq: number; received_at: number; batch: Buffer }
  >('SELECT id, edge, seq, received_at, batch FROM committed_journal WHERE id > ? ORDER BY id LIMIT ?');

  let fed = loadCursor.get()?.journal_id ?? 0;
  let pruned = fed;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function readPage(): number {
    const rows = page.all(fed, deps.rowsPerPoll);
    for (const r of rows) {
      // Before publishing: the runtime may write its state (with this cursor) while it handles the row.
      fed = r.id;
      try {
        const batch = decodeBatch(r.batch);
        const believable = latestRange(deps.timeWindow, r.received_at);
        deps.feed.publish(
          believableOnly({
            edgeId: r.edge,
            historical: batch.historical,
            receivedAt: r.received_at,
            place: deps.placeOf(r.edge),
            readings: markSuspectTimes(batch.readings, believable).readings,
            events: batch.events,
            believable,
          }),
        );
        deps.rows.inc({ result: 'fed' });
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        // The ingest decoded these bytes before committing them: only a damaged file gets here.
        deps.rows.inc({ result: 'undecodable' });
        log.error({ journalId: r.id, edge: r.edge, seq: r.seq, err: err.message }, 'journal row skipped');
      }
    }
    return rows.length;
  }

  function poll(): void {
    timer = undefined;
    if (closed) return;
    let full = false;
    try {
      full = readPage() === deps.rowsPerPoll;
    } catch (err) {
      // SQLITE_BUSY past busy_timeout and the like: the next poll reads the same rows again.
      log.error({ err: (err as Error).message }, 'journal read failed');
    }
    if (closed) return;
    // A full page means a backlog: read on at once, but let I/O (acks, HTTP) run in between.
    timer = setTimeout(poll, full ? 0 : deps.pollMs);
  }

  return {
    start() {
      if (timer === undefined && !closed) poll();
    },
    saveCursor() {
      if (!deps.fence()) throw new RulesLeaseLostError('another worker took the rules lease');
      storeCursor.run(fed);
      if (fed > pruned) {
        prune.run(fed);
        pruned = fed;
      }
    },
    cursor: () => fed,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
