import {
  API_TOKEN_COLUMNS,
  type ApiTokenColumns,
  type ApiTokenStore,
  apiTokenHash,
  apiTokenOf,
  liveApiTokenOf,
  newApiToken,
} from '../auth/api-token-store.js';
import {
  type SessionColumns,
  type SessionStore,
  liveSessionOf,
  newSessionToken,
  sessionIdOf,
} from '../auth/session-store.js';
import type { Query } from './postgres-query.js';

/**
 * Officers' login sessions and API tokens in PostgreSQL (`store.kind: postgres`): behind the
 * county's reverse proxy an officer's next request may reach any host, so a session made, a
 * logout, a password reset that ends a user's sessions, a token issued or revoked through one host
 * holds on every host at once. The same columns as cloud.db's `sessions` and `api_tokens`; only the
 * SHA-256 of a token is stored.
 */
export const SESSIONS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
  CREATE INDEX IF NOT EXISTS shared_sessions_username ON shared_sessions (username);
  CREATE INDEX IF NOT EXISTS shared_sessions_expires ON shared_sessions (expires_at);
  CREATE TABLE IF NOT EXISTS shared_api_tokens (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    place TEXT, access TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL, revoked_at BIGINT);
`;

export function postgresSessions(q: Query): SessionStore {
  return {
    async create(username, now, ttlMs) {
      const token = newSessionToken();
      await q(
        'INSERT INTO shared_sessions (token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [sessionIdOf(token), username, now, now + ttlMs],
      );
      return token;
    },
    async get(token, now) {
      const [row] = await q<SessionColumns>(
        'SELECT username, created_at, expires_at FROM shared_sessions WHERE token_hash = $1',
        [sessionIdOf(token)],
      );
      return liveSessionOf(row, now);
    },
    async delete(token) {
      await q('DELETE FROM shared_sessions WHERE token_hash = $1', [sessionIdOf(token)]);
    },
    async deleteUser(username) {
      return (await q('DELETE FROM shared_sessions WHERE username = $1 RETURNING 1', [username])).length;
    },
    async purge(now) {
      return (await q('DELETE FROM shared_sessions WHERE expires_at <= $1 RETURNING 1', [now])).length;
    },
    async liveIds(ids, now) {
      if (ids.length === 0) return new Set();
      const rows = await q<{ token_hash: string }>(
        'SELECT token_hash FROM shared_sessions WHERE token_hash = ANY($1) AND expires_at > $2',
        [ids, now],
      );
      return new Set(rows.map((r) => r.token_hash));
    },
  };
}

export function postgresApiTokens(q: Query): ApiTokenStore {
  return {
    async issue(t, now) {
      const issued = newApiToken(t, now);
      const r = issued.record;
      await q(
        `INSERT INTO shared_api_tokens (id, token_hash, name, role, place, access, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          r.id,
          apiTokenHash(issued.token),
          r.name,
          r.role,
          r.place,
          r.access,
          r.createdBy,
          r.createdAt,
          r.expiresAt,
        ],
      );
      return issued;
    },
    async verify(secret, now) {
      const [row] = await q<ApiTokenColumns>(
        `SELECT ${API_TOKEN_COLUMNS} FROM shared_api_tokens WHERE token_hash = $1`,
        [apiTokenHash(secret)],
      );
      return liveApiTokenOf(row, now);
    },
    async list() {
      const rows = await q<ApiTokenColumns>(
        `SELECT ${API_TOKEN_COLUMNS} FROM shared_api_tokens ORDER BY created_at, id`,
      );
      return rows.map(apiTokenOf);
    },
    async revoke(id, now) {
      const rows = await q(
        'UPDATE shared_api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id',
        [now, id],
      );
      return rows.length === 1;
    },
  };
}
