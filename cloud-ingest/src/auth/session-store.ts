import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/open-database.js';

/**
 * Login sessions in the cloud's SQLite database, so a cloud restart keeps officers logged in.
 * Only the SHA-256 of a token is stored: a copy of cloud.db does not hand out live sessions.
 * A session lasts a fixed time from login (no sliding renewal), then the officer logs in again.
 */
export interface Session {
  username: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  /** Creates a session and returns the token for the cookie (256 random bits, base64url). */
  create(username: string, now: number, ttlMs: number): string;
  /** The live session of a token, or undefined when unknown or expired. */
  get(token: string, now: number): Session | undefined;
  delete(token: string): void;
  /** Deletes expired sessions; returns how many. */
  purge(now: number): number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
`;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A session's id for in-process bookkeeping (live streams): the stored hash, never the token. */
export const sessionIdOf = hashToken;

export function openSessionStore(db: Db): SessionStore {
  db.exec(SCHEMA);
  const insert = db.prepare<[string, string, number, number]>(
    'INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)',
  );
  const select = db.prepare<[string], { username: string; created_at: number; expires_at: number }>(
    'SELECT username, created_at, expires_at FROM sessions WHERE token_hash = ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');
  const purge = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?');
  return {
    create(username, now, ttlMs) {
      const token = randomBytes(32).toString('base64url');
      insert.run(hashToken(token), username, now, now + ttlMs);
      return token;
    },
    get(token, now) {
      const row = select.get(hashToken(token));
      if (!row || row.expires_at <= now) return undefined;
      return { username: row.username, createdAt: row.created_at, expiresAt: row.expires_at };
    },
    delete(token) {
      remove.run(hashToken(token));
    },
    purge: (now) => purge.run(now).changes,
  };
}
