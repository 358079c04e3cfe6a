import { createHash, randomUUID } from 'node:crypto';
import {
  type DeadLetter,
  type DeadLetterKind,
  type DeadLetterState,
  type DeadLetterStore,
  MAX_OPEN_BYTES_PER_EDGE,
  REDRIVE_CLAIM_TTL_MS,
} from '../store/dead-letter-store.js';
import type { Query } from './postgres-query.js';

/**
 * Dead letters in PostgreSQL (`store.kind: postgres`): a batch reaches one host (shared
 * subscription), so a letter kept in that host's cloud.db was seen, re-driven and discarded only
 * through that host, behind a proxy that picks any. Here every host lists, re-drives and counts
 * all of them. The same columns and meaning as cloud.db's (store/dead-letter-store.ts); a
 * re-drive's claim is a row of its own, so a refusal during the re-drive (which bumps the
 * letter's count) never waits on it.
 */
export const DEAD_LETTERS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_dead_letters (
    id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, edge TEXT NOT NULL, seq BIGINT, reason TEXT NOT NULL,
    detail TEXT NOT NULL, bytes BYTEA NOT NULL, digest TEXT NOT NULL, received_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL, count INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'open',
    redriven_at BIGINT, size INTEGER NOT NULL, bytes_kept BOOLEAN NOT NULL DEFAULT TRUE);
  CREATE UNIQUE INDEX IF NOT EXISTS shared_dead_letters_open
    ON shared_dead_letters (edge, kind, digest) WHERE state = 'open';
  CREATE INDEX IF NOT EXISTS shared_dead_letters_by_edge ON shared_dead_letters (edge, state);
  CREATE TABLE IF NOT EXISTS shared_dead_letter_claims (
    id BIGINT PRIMARY KEY, token TEXT NOT NULL, expires_at BIGINT NOT NULL);
`;

interface Row {
  id: string;
  kind: DeadLetterKind;
  edge: string;
  seq: string | null;
  reason: string;
  detail: string;
  received_at: string;
  last_at: string;
  count: number;
  state: DeadLetterState;
  redriven_at: string | null;
  size: number;
  bytes_kept: boolean;
}

const COLUMNS =
  'id, kind, edge, seq, reason, detail, received_at, last_at, count, state, redriven_at, size, bytes_kept';

const toLetter = (r: Row): DeadLetter => ({
  id: Number(r.id),
  kind: r.kind,
  edge: r.edge,
  seq: r.seq === null ? null : Number(r.seq),
  reason: r.reason,
  detail: r.detail,
  receivedAt: Number(r.received_at),
  lastAt: Number(r.last_at),
  count: r.count,
  state: r.state,
  redrivenAt: r.redriven_at === null ? null : Number(r.redriven_at),
  size: r.size,
  bytesKept: r.bytes_kept,
});

/**
 * One statement: a resend (same edge, kind and bytes, through any host) bumps the open letter,
 * else a new one, its bytes kept while the edge's open letters hold at most the cap. Two hosts
 * adding the same letter at once meet on the unique index (one inserts, the other bumps); two
 * adding different letters of one edge at once may each pass the cap check, so the cap may be
 * passed by a letter per host at once, no more.
 */
const ADD = `
  INSERT INTO shared_dead_letters AS d
    (kind, edge, seq, reason, detail, bytes, digest, received_at, last_at, size, bytes_kept)
  SELECT $1, $2, $3::bigint, $4, $5, CASE WHEN o.kept THEN $6::bytea ELSE ''::bytea END, $7,
         $8::bigint, $8::bigint, $9::integer, o.kept
    FROM (SELECT COALESCE(SUM(length(bytes)), 0) + $9::integer <= $10::bigint AS kept
            FROM shared_dead_letters WHERE edge = $2 AND state = 'open') AS o
  ON CONFLICT (edge, kind, digest) WHERE state = 'open'
    DO UPDATE SET count = d.count + 1, last_at = GREATEST(d.last_at, EXCLUDED.last_at)
  RETURNING id, bytes_kept, (xmax = 0) AS inserted`;

/** The claim is taken when there is none or it lapsed; a waiting second claimer finds it live. */
const CLAIM = `
  INSERT INTO shared_dead_letter_claims AS c (id, token, expires_at)
  SELECT id, $2, $3::bigint FROM shared_dead_letters WHERE id = $1 AND state = 'open' AND bytes_kept
  ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
    WHERE c.expires_at <= $4::bigint
  RETURNING token`;

/** One statement: marks it re-driven when stored, and ends the claim. */
const SETTLE = `
  WITH redriven AS (
    UPDATE shared_dead_letters SET state = 'redriven', redriven_at = $3::bigint
     WHERE id = $1 AND state = 'open' AND $4::boolean RETURNING id)
  DELETE FROM shared_dead_letter_claims WHERE id = $1 AND token = $2`;

export function postgresDeadLetters(
  q: Query,
  maxOpenBytesPerEdge = MAX_OPEN_BYTES_PER_EDGE,
): DeadLetterStore {
  const get = async (id: number) => {
    const [r] = await q<Row & { bytes: Buffer }>(
      `SELECT ${COLUMNS}, bytes FROM shared_dead_letters WHERE id = $1`,
      [id],
    );
    return r === undefined ? undefined : { ...toLetter(r), bytes: new Uint8Array(r.bytes) };
  };
  return {
    async add(l) {
      const digest = createHash('sha256').update(l.bytes).digest('hex');
      const [r] = await q<{ id: string; bytes_kept: boolean; inserted: boolean }>(ADD, [
        l.kind,
        l.edge,
        l.seq,
        l.reason,
        l.detail,
        Buffer.from(l.bytes),
        digest,
        l.at,
        l.bytes.length,
        maxOpenBytesPerEdge,
      ]);
      return { id: Number(r!.id), repeat: !r!.inserted, bytesKept: r!.bytes_kept };
    },
    async list(filter) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      const add = (sql: string, v: string | number) => {
        params.push(v);
        where.push(`${sql} $${params.length}`);
      };
      if (filter.state !== undefined) add('state =', filter.state);
      if (filter.edge !== undefined) add('edge =', filter.edge);
      if (filter.reason !== undefined) add('reason =', filter.reason);
      if (filter.beforeId !== undefined) add('id <', filter.beforeId);
      params.push(Math.trunc(filter.limit));
      const rows = await q<Row>(
        `SELECT ${COLUMNS} FROM shared_dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toLetter);
    },
    get,
    async claim(id, now) {
      const token = randomUUID();
      const [taken] = await q<{ token: string }>(CLAIM, [id, token, now + REDRIVE_CLAIM_TTL_MS, now]);
      const letter = await get(id);
      if (taken !== undefined) {
        if (letter !== undefined && letter.state === 'open') return { result: 'claimed', letter, token };
        // Re-driven in between by a host whose claim had lapsed: nothing to do.
        await q(SETTLE, [id, token, now, false]);
        return { result: 'not_open' };
      }
      return letter !== undefined && letter.state === 'open' && letter.bytesKept
        ? { result: 'busy' }
        : { result: 'not_open' };
    },
    async settle(id, token, stored, now) {
      await q(SETTLE, [id, token, now, stored]);
    },
  };
}
