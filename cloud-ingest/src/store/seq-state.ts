import { LEGACY_EPOCH } from '@village/protocol';
import type { Statement } from 'better-sqlite3';
import type { Db } from './open-database.js';

/**
 * Per-edge dedupe state (DESIGN.md "Delivery, precisely"), one stream per outbox epoch: for each
 * (edge, epoch) a high-water mark H — every seq <= H is committed; edge seqs start at 1 in every
 * epoch, so H starts at 0 — plus the committed seqs above H. When H+1 is committed, H advances
 * over every contiguous committed seq and those rows go. A wiped outbox has a new epoch, so its
 * seqs 1, 2, ... are new batches, not replays of the old ones.
 * Writes happen inside the caller's transaction; memory follows only after that commits.
 * Several records in one transaction (a group commit) compose: `record` reads the database, where
 * the earlier ones of the transaction are visible, and their apply functions run in record order.
 * `epoch` defaults to LEGACY_EPOCH, the stream of an edge that sends none.
 */
export interface SeqState {
  isCommitted(edge: string, seq: number, epoch?: string): boolean;
  /** Records `seq` as committed (inside the caller's transaction); returns the change to apply after commit. */
  record(edge: string, seq: number, epoch?: string): () => void;
  /** H and the committed seqs above it, as held in memory. */
  snapshot(edge: string, epoch?: string): { highWater: number; above: number[] };
  /**
   * When `epoch` is new for an edge that has sent under another epoch before (its outbox was wiped
   * or replaced: a gap may exist), that edge's latest other epoch and its H; undefined otherwise.
   */
  epochChange(edge: string, epoch: string): EpochChange | undefined;
}

export interface EpochChange {
  oldEpoch: string;
  oldHighWater: number;
}

/**
 * Creates the seq tables, or moves those of a cloud from before epochs (keyed by edge alone) to
 * the legacy epoch. In one write transaction, so several workers starting at once migrate once.
 */
export function ensureSeqTables(db: Db): void {
  db.transaction(() => {
    const cols = db
      .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('edge_seq_state')")
      .all()
      .map((c) => c.name);
    const migrate = cols.length > 0 && !cols.includes('epoch');
    if (migrate) {
      db.exec(`
        ALTER TABLE edge_seq_state RENAME TO edge_seq_state_v1;
        ALTER TABLE edge_seq_above RENAME TO edge_seq_above_v1;
      `);
    }
    // `opened` orders an edge's epochs: the highest is the one it sends under now.
    db.exec(`
      CREATE TABLE IF NOT EXISTS edge_seq_state (
        edge TEXT NOT NULL, epoch TEXT NOT NULL, high_water INTEGER NOT NULL, opened INTEGER NOT NULL,
        PRIMARY KEY (edge, epoch)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS edge_seq_above (
        edge TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (edge, epoch, seq)) WITHOUT ROWID;
    `);
    if (migrate) {
      db.prepare(
        'INSERT INTO edge_seq_state (edge, epoch, high_water, opened) SELECT edge, ?, high_water, 1 FROM edge_seq_state_v1',
      ).run(LEGACY_EPOCH);
      db.prepare(
        'INSERT INTO edge_seq_above (edge, epoch, seq) SELECT edge, ?, seq FROM edge_seq_above_v1',
      ).run(LEGACY_EPOCH);
      db.exec('DROP TABLE edge_seq_state_v1; DROP TABLE edge_seq_above_v1;');
    }
  }).immediate();
}

/** The statements both variants (this one and shared-seq-state.ts) share. */
export interface SeqStatements {
  openStream: Statement<[string, string, string]>;
  selectHigh: Statement<[string, string], { high_water: number }>;
  selectAboveFrom: Statement<[string, string, number], { seq: number }>;
  hasAbove: Statement<[string, string, number], { one: number }>;
  setHigh: Statement<[number, string, string]>;
  insertAbove: Statement<[string, string, number]>;
  deleteUpTo: Statement<[string, string, number]>;
  newestEpoch: Statement<[string], { epoch: string; high_water: number }>;
}

export function seqStatements(db: Db): SeqStatements {
  return {
    /** Creates the (edge, epoch) row at H = 0 if needed, as the edge's newest epoch; changes nothing otherwise. */
    openStream: db.prepare<[string, string, string]>(
      `INSERT INTO edge_seq_state (edge, epoch, high_water, opened)
       VALUES (?, ?, 0, (SELECT COALESCE(MAX(opened), 0) + 1 FROM edge_seq_state WHERE edge = ?))
       ON CONFLICT (edge, epoch) DO NOTHING`,
    ),
    selectHigh: db.prepare<[string, string], { high_water: number }>(
      'SELECT high_water FROM edge_seq_state WHERE edge = ? AND epoch = ?',
    ),
    selectAboveFrom: db.prepare<[string, string, number], { seq: number }>(
      'SELECT seq FROM edge_seq_above WHERE edge = ? AND epoch = ? AND seq > ? ORDER BY seq',
    ),
    hasAbove: db.prepare<[string, string, number], { one: number }>(
      'SELECT 1 AS one FROM edge_seq_above WHERE edge = ? AND epoch = ? AND seq = ?',
    ),
    setHigh: db.prepare<[number, string, string]>(
      'UPDATE edge_seq_state SET high_water = ? WHERE edge = ? AND epoch = ?',
    ),
    insertAbove: db.prepare<[string, string, number]>(
      'INSERT OR IGNORE INTO edge_seq_above (edge, epoch, seq) VALUES (?, ?, ?)',
    ),
    deleteUpTo: db.prepare<[string, string, number]>(
      'DELETE FROM edge_seq_above WHERE edge = ? AND epoch = ? AND seq <= ?',
    ),
    newestEpoch: db.prepare<[string], { epoch: string; high_water: number }>(
      'SELECT epoch, high_water FROM edge_seq_state WHERE edge = ? ORDER BY opened DESC LIMIT 1',
    ),
  };
}

/** `epochChange` from the database: the newest epoch the edge has is another one, and `epoch` is unknown. */
export function epochChangeIn(st: SeqStatements, edge: string, epoch: string): EpochChange | undefined {
  const newest = st.newestEpoch.get(edge);
  if (newest === undefined || newest.epoch === epoch) return undefined;
  if (st.selectHigh.get(edge, epoch) !== undefined) return undefined; // a late resend of an older epoch
  return { oldEpoch: newest.epoch, oldHighWater: newest.high_water };
}

interface StreamSeqs {
  highWater: number;
  above: Set<number>;
}

export function createSeqState(db: Db): SeqState {
  ensureSeqTables(db);
  const st = seqStatements(db);
  const selectAbove = db.prepare<[string, string], { seq: number }>(
    'SELECT seq FROM edge_seq_above WHERE edge = ? AND epoch = ?',
  );
  const cache = new Map<string, StreamSeqs>();
  /** Edge → the epoch it last committed under, so the usual batch skips the epoch query. */
  const current = new Map<string, string>();

  function load(edge: string, epoch: string): StreamSeqs {
    const key = `${edge}\u0000${epoch}`;
    let s = cache.get(key);
    if (s === undefined) {
      s = {
        highWater: st.selectHigh.get(edge, epoch)?.high_water ?? 0,
        above: new Set(selectAbove.all(edge, epoch).map((r) => r.seq)),
      };
      cache.set(key, s);
    }
    return s;
  }

  return {
    isCommitted(edge, seq, epoch = LEGACY_EPOCH) {
      const s = load(edge, epoch);
      return seq <= s.highWater || s.above.has(seq);
    },
    record(edge, seq, epoch = LEGACY_EPOCH) {
      const s = load(edge, epoch);
      st.openStream.run(edge, epoch, edge);
      const markCurrent = () => current.set(edge, epoch);
      // Not from memory: an earlier record of this same transaction is only in the database yet.
      if (seq !== st.selectHigh.get(edge, epoch)!.high_water + 1) {
        st.insertAbove.run(edge, epoch, seq);
        return () => {
          s.above.add(seq);
          markCurrent();
        };
      }
      let high = seq;
      for (const r of st.selectAboveFrom.iterate(edge, epoch, seq)) {
        if (r.seq !== high + 1) break;
        high = r.seq;
      }
      st.setHigh.run(high, edge, epoch);
      if (high > seq) st.deleteUpTo.run(edge, epoch, high);
      return () => {
        for (let q = seq + 1; q <= high; q++) s.above.delete(q);
        s.highWater = high;
        markCurrent();
      };
    },
    snapshot(edge, epoch = LEGACY_EPOCH) {
      const s = load(edge, epoch);
      return { highWater: s.highWater, above: [...s.above].sort((a, b) => a - b) };
    },
    epochChange(edge, epoch) {
      if (current.get(edge) === epoch) return undefined;
      const change = epochChangeIn(st, edge, epoch);
      if (change === undefined && st.selectHigh.get(edge, epoch) !== undefined) current.set(edge, epoch);
      return change;
    },
  };
}
