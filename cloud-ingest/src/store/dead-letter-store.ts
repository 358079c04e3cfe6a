import { createHash, randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Db } from './open-database.js';

/**
 * What was dead-lettered:
 *  - `batch`: an `up/batch` message that did not decode; `bytes` is the MQTT payload as received;
 *  - `point`: readings or an event the sink refused for good (InfluxDB 400); `bytes` is the JSON
 *    of a one-point SinkBatch (place, readings, events), so a re-drive writes it through the sink.
 */
export type DeadLetterKind = 'batch' | 'point';

/** `open` until a re-drive stores it; then `redriven`. */
export type DeadLetterState = 'open' | 'redriven';

export interface DeadLetter {
  id: number;
  kind: DeadLetterKind;
  edge: string;
  /** The batch's seq when it could be read, else null (then the edge got no rejection). */
  seq: number | null;
  /** Stable code: the ProtocolError code for a batch, `field_type_conflict` or `sink_refused` for a point. */
  reason: string;
  /** The error's message, for the officer reading the list. */
  detail: string;
  /** ms epoch of the first arrival. */
  receivedAt: number;
  /** ms epoch of the latest arrival (an edge resending before the rejection reached it). */
  lastAt: number;
  /** Arrivals of these very bytes from this edge. */
  count: number;
  state: DeadLetterState;
  redrivenAt: number | null;
  /** Bytes of the message or point as it arrived. */
  size: number;
  /** False when its bytes were not kept: the edge's open dead letters already held the most allowed. */
  bytesKept: boolean;
}

export interface DeadLetterWithBytes extends DeadLetter {
  bytes: Uint8Array;
}

export interface NewDeadLetter {
  kind: DeadLetterKind;
  edge: string;
  seq: number | null;
  reason: string;
  detail: string;
  bytes: Uint8Array;
  at: number;
}

export interface DeadLetterQuery {
  state?: DeadLetterState;
  edge?: string;
  reason?: string;
  /** Only ids below this (paging: pass the last id of the previous page). */
  beforeId?: number;
  limit: number;
}

/** What `claim` got: the letter to re-drive (with the claim's token), or why not. */
export type RedriveClaim =
  | { result: 'claimed'; letter: DeadLetterWithBytes; token: string }
  /** Another caller (on any host) is re-driving it: its claim has not lapsed. */
  | { result: 'busy' }
  /** Unknown, already re-driven, or without its bytes. */
  | { result: 'not_open' };

/**
 * How long a re-drive's claim keeps other callers out. A host that died while re-driving leaves
 * its claim; the letter can be re-driven elsewhere after this. Longer than a sink write may take
 * (InfluxDB's retries: maxRetryTimeMs, 60 s by default); a re-drive that outlives it may be run
 * again by another host, which writes the same keyed points, or finds the batch's seq committed.
 */
export const REDRIVE_CLAIM_TTL_MS = 120_000;

/**
 * Async since with several hosts (`store.kind: postgres`) the dead letters are in PostgreSQL
 * (shared-store/postgres-dead-letters.ts); cloud.db's is synchronous inside. Both pass
 * test/shared-dead-letters-suite.ts.
 */
export interface DeadLetterStore {
  /**
   * Stores a dead letter durably before it resolves. The same bytes from the same edge again (a
   * resend, through any host) bump `count` of the open letter instead of adding one.
   */
  add(letter: NewDeadLetter): Promise<{ id: number; repeat: boolean; bytesKept: boolean }>;
  /** Newest first. */
  list(q: DeadLetterQuery): Promise<DeadLetter[]>;
  get(id: number): Promise<DeadLetterWithBytes | undefined>;
  /**
   * Takes open letter `id` for a re-drive at `now` (ms epoch), unless another caller's claim on it
   * is live: two hosts re-driving one letter at once write it once.
   */
  claim(id: number, now: number): Promise<RedriveClaim>;
  /**
   * Ends the claim `token`: `stored` marks the letter `redriven` at `now`; otherwise it stays
   * open (for a later re-drive).
   */
  settle(id: number, token: string, stored: boolean, now: number): Promise<void>;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, edge TEXT NOT NULL, seq INTEGER, reason TEXT NOT NULL,
    detail TEXT NOT NULL, bytes BLOB NOT NULL, digest TEXT NOT NULL, received_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'open',
    redriven_at INTEGER, size INTEGER NOT NULL, bytes_kept INTEGER NOT NULL DEFAULT 1);
  CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open ON dead_letters (edge, kind, digest) WHERE state = 'open';
  CREATE INDEX IF NOT EXISTS dead_letters_by_edge ON dead_letters (edge, state);
  CREATE TABLE IF NOT EXISTS dead_letter_claims (
    id INTEGER PRIMARY KEY, token TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

interface Raw {
  id: number;
  kind: DeadLetterKind;
  edge: string;
  seq: number | null;
  reason: string;
  detail: string;
  received_at: number;
  last_at: number;
  count: number;
  state: DeadLetterState;
  redriven_at: number | null;
  size: number;
  bytes_kept: number;
}

const COLUMNS =
  'id, kind, edge, seq, reason, detail, received_at, last_at, count, state, redriven_at, size, bytes_kept';

/**
 * Most bytes the open dead letters of one edge keep. Past it a letter is still recorded (reason,
 * edge, time, size, digest) and rejected, but without its bytes: an edge sending garbage cannot fill
 * the cloud's disk.
 */
export const MAX_OPEN_BYTES_PER_EDGE = 64 * 1024 * 1024;

const toLetter = (r: Raw): DeadLetter => ({
  id: r.id,
  kind: r.kind,
  edge: r.edge,
  seq: r.seq,
  reason: r.reason,
  detail: r.detail,
  receivedAt: r.received_at,
  lastAt: r.last_at,
  count: r.count,
  state: r.state,
  redrivenAt: r.redriven_at,
  size: r.size,
  bytesKept: r.bytes_kept === 1,
});

/**
 * The cloud's dead letters (DESIGN.md "Delivery"): what can never be stored as sent is kept here,
 * in cloud.db beside the seq state, instead of vanishing; officers list it and re-drive it once
 * the cause is fixed. With a `metricsRegistry`, counted in `cloud_dead_letters_total{kind,reason}`
 * (countDeadLetters). The SQLite SharedStore reuses it, uncounted (the cloud counts at its side).
 */
export function openDeadLetterStore(
  db: Db,
  metricsRegistry?: Registry,
  maxOpenBytesPerEdge = MAX_OPEN_BYTES_PER_EDGE,
): DeadLetterStore {
  db.exec(SCHEMA);
  const bump = db.prepare<[number, string, string, string], { id: number; bytes_kept: number }>(
    `UPDATE dead_letters SET count = count + 1, last_at = MAX(last_at, ?)
     WHERE edge = ? AND kind = ? AND digest = ? AND state = 'open' RETURNING id, bytes_kept`,
  );
  const insert = db.prepare(
    `INSERT INTO dead_letters (kind, edge, seq, reason, detail, bytes, digest, received_at, last_at, size, bytes_kept)
     VALUES (@kind, @edge, @seq, @reason, @detail, @bytes, @digest, @at, @at, @size, @kept)`,
  );
  const openBytes = db.prepare<[string], { n: number }>(
    "SELECT COALESCE(SUM(length(bytes)), 0) AS n FROM dead_letters WHERE edge = ? AND state = 'open'",
  );
  const getOne = db.prepare<[number], Raw & { bytes: Buffer }>(
    `SELECT ${COLUMNS}, bytes FROM dead_letters WHERE id = ?`,
  );
  const redriven = db.prepare<[number, number]>(
    "UPDATE dead_letters SET state = 'redriven', redriven_at = ? WHERE id = ? AND state = 'open'",
  );
  // A claim is taken when there is none or it lapsed (its host died mid-re-drive).
  const takeClaim = db.prepare<[number, string, number, number], { token: string }>(
    `INSERT INTO dead_letter_claims (id, token, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
       WHERE dead_letter_claims.expires_at <= ?
     RETURNING token`,
  );
  const dropClaim = db.prepare<[number, string]>('DELETE FROM dead_letter_claims WHERE id = ? AND token = ?');
  const add = db.transaction((l: NewDeadLetter): { id: number; repeat: boolean; bytesKept: boolean } => {
    const digest = createHash('sha256').update(l.bytes).digest('hex');
    const again = bump.get(l.at, l.edge, l.kind, digest);
    if (again !== undefined) return { id: again.id, repeat: true, bytesKept: again.bytes_kept === 1 };
    const kept = openBytes.get(l.edge)!.n + l.bytes.length <= maxOpenBytesPerEdge;
    const id = Number(
      insert.run({
        kind: l.kind,
        edge: l.edge,
        seq: l.seq,
        reason: l.reason,
        detail: l.detail,
        bytes: kept ? Buffer.from(l.bytes) : Buffer.alloc(0),
        digest,
        at: l.at,
        size: l.bytes.length,
        kept: kept ? 1 : 0,
      }).lastInsertRowid,
    );
    return { id, repeat: false, bytesKept: kept };
  });
  const get = (id: number): DeadLetterWithBytes | undefined => {
    const r = getOne.get(id);
    return r === undefined ? undefined : { ...toLetter(r), bytes: new Uint8Array(r.bytes) };
  };
  const claim = db.transaction((id: number, now: number): RedriveClaim => {
    const letter = get(id);
    if (letter === undefined || letter.state !== 'open' || !letter.bytesKept) return { result: 'not_open' };
    const token = randomUUID();
    if (takeClaim.get(id, token, now + REDRIVE_CLAIM_TTL_MS, now) === undefined) return { result: 'busy' };
    return { result: 'claimed', letter, token };
  });
  const settle = db.transaction((id: number, token: string, stored: boolean, now: number) => {
    if (stored) redriven.run(now, id);
    dropClaim.run(id, token);
  });
  const store: DeadLetterStore = {
    add: async (letter) => add(letter),
    async list(q) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (q.state !== undefined) {
        where.push('state = ?');
        params.push(q.state);
      }
      if (q.edge !== undefined) {
        where.push('edge = ?');
        params.push(q.edge);
      }
      if (q.reason !== undefined) {
        where.push('reason = ?');
        params.push(q.reason);
      }
      if (q.beforeId !== undefined) {
        where.push('id < ?');
        params.push(q.beforeId);
      }
      return db
        .prepare<(string | number)[], Raw>(
          `SELECT ${COLUMNS} FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${Math.trunc(q.limit)}`,
        )
        .all(...params)
        .map(toLetter);
    },
    get: async (id) => get(id),
    // IMMEDIATE: the write lock first, so two workers' claims on one file apply one after the other.
    claim: async (id, now) => claim.immediate(id, now),
    settle: async (id, token, stored, now) => settle(id, token, stored, now),
  };
  return metricsRegistry === undefined ? store : countDeadLetters(store, metricsRegistry);
}

/**
 * `cloud_dead_letters_total{kind,reason}`: the letters this process added, not their repeats (a
 * resend bumps the letter's count). With several hosts the repeats are known across hosts (the
 * SharedStore's letters), so the sum over the hosts is the number of letters, each counted once.
 */
export function countDeadLetters(store: DeadLetterStore, metricsRegistry: Registry): DeadLetterStore {
  const total = new Counter({
    name: 'cloud_dead_letters_total',
    help: 'Batches that could not be decoded and points the sink refused for good, kept as dead letters',
    labelNames: ['kind', 'reason'],
    registers: [metricsRegistry],
  });
  return {
    ...store,
    async add(letter) {
      const r = await store.add(letter);
      if (!r.repeat) total.inc({ kind: letter.kind, reason: letter.reason });
      return r;
    },
  };
}
