import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/open-database.js';

/**
 * Login sessions in the cloud's SQLite database, so a cloud restart keeps officers logged in; with
 * `store.kind: postgres` in PostgreSQL instead (shared-store/postgres-sessions.ts), so a session
 * made on one host is known, and ended, on every host. Only the SHA-256 of a token is stored: a
 * copy of cloud.db (or of the PostgreSQL database) does not hand out live sessions.
 * A session lasts a fixed time from login (no sliding renewal), then the officer logs in again.
 */
export interface Session {
  username: string;
  createdAt: number;
  expiresAt: number;
}

/** Async for PostgreSQL; cloud.db's store is synchronous inside. Both pass test/shared-sessions-suite.ts. */
export interface SessionStore {
  /** Creates a session and returns the token for the cookie (256 random bits, base64url). */
  create(username: string, now: number, ttlMs: number): Promise<string>;
  /** The live session of a token, or undefined when unknown or expired. */
  get(token: string, now: number): Promise<Session | undefined>;
  delete(token: string): Promise<void>;
  /** Ends every session of a user (a password reset); returns how many. */
  deleteUser(username: string): Promise<number>;
  /** Deletes expired sessions; returns how many. */
  purge(now: number): Promise<number>;
  /**
   * Which of these session ids (sessionIdOf) are still live: the live streams of the others end,
   * whichever host the logout, reset or expiry happened on (http/live-routes.ts).
   */
  liveIds(ids: readonly string[], now: number): Promise<Set<string>>;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
`;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A session's id for in-process bookkeeping (live streams), and its key at rest: the hash, never the token. */
export const sessionIdOf = hashToken;

/** A new session token: 256 random bits, base64url. */
export const newSessionToken = () => randomBytes(32).toString('base64url');

/** A stored session's columns, as both stores keep them (PostgreSQL's BIGINTs come as strings). */
export interface SessionColumns {
  username: string;
  created_at: number | string;
  expires_at: number | string;
}

/** The live session of a stored row at `now`, or undefined when there is none or it expired. */
export function liveSessionOf(row: SessionColumns | undefined, now: number): Session | undefined {
  if (!row || Number(row.expires_at) <= now) return undefined;
  return { username: row.username, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
}

export function openSessionStore(db: Db): SessionStore {
  db.exec(SCHEMA);
  const insert = db.prepare<[string, string, number, number]>(
    'INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)',
  );
  const select = db.prepare<[string], SessionColumns>(
    'SELECT username, created_at, expires_at FROM sessions WHERE token_hash = ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');
  const removeUser = db.prepare<[string]>('DELETE FROM sessions WHERE username = ?');
  const purge = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?');
  const live = db.prepare<[string, number], { token_hash: string }>(
    'SELECT token_hash FROM sessions WHERE token_hash = ? AND expires_at > ?',
  );
  return {
    async create(username, now, ttlMs) {
      const token = newSessionToken();
      insert.run(hashToken(token), username, now, now + ttlMs);
      return token;
    },
    get: async (token, now) => liveSessionOf(select.get(hashToken(token)), now),
    async delete(token) {
      remove.run(hashToken(token));
    },
    deleteUser: async (username) => removeUser.run(username).changes,
    purge: async (now) => purge.run(now).changes,
    liveIds: async (ids, now) => new Set(ids.filter((id) => live.get(id, now) !== undefined)),
  };
}
