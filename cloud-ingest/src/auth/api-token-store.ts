import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/open-database.js';
import type { Role } from './user-config.js';

/**
 * API tokens for scripts and integrations (Grafana, reports), in cloud.db (with `store.kind:
 * postgres` in PostgreSQL, shared-store/postgres-sessions.ts, so a token issued or revoked through
 * one host is so on every host). A token is 256 random
 * bits, so one SHA-256 (no salt, no slow hash) is enough at rest: a copy of cloud.db yields no
 * usable token, and lookup by hash stays one index probe per request. The token itself is shown
 * once, when issued. Each token has a role and place like a user, an access level, an expiry, and
 * can be revoked (the row stays, for the audit of who issued what).
 */
export type TokenAccess = 'read' | 'read-write';

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  place: string | null;
  access: TokenAccess;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface NewApiToken {
  name: string;
  role: Role;
  place: string | null;
  access: TokenAccess;
  createdBy: string;
  expiresAt: number;
}

/** Async for PostgreSQL; cloud.db's store is synchronous inside. Both pass test/shared-sessions-suite.ts. */
export interface ApiTokenStore {
  /** Stores a new token and returns it with the secret (the only time the secret exists outside the caller). */
  issue(t: NewApiToken, now: number): Promise<{ token: string; record: ApiToken }>;
  /** The live token of a secret: undefined when unknown, revoked or expired. */
  verify(secret: string, now: number): Promise<ApiToken | undefined>;
  list(): Promise<ApiToken[]>;
  /** Marks a token revoked; false when no such id or already revoked. */
  revoke(id: string, now: number): Promise<boolean>;
}

/** Prefix of every secret: lets secret scanners and operators recognise a leaked village token. */
export const TOKEN_PREFIX = 'vt_';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    place TEXT, access TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, revoked_at INTEGER);
`;

/** What is stored of a secret: its SHA-256, hex. */
export const apiTokenHash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new token (the secret, shown once) and its record, to store with apiTokenHash(token). */
export function newApiToken(t: NewApiToken, now: number): { token: string; record: ApiToken } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, record: { ...t, id: randomUUID(), createdAt: now, revokedAt: null } };
}

/** A stored token's columns, as both stores keep them (PostgreSQL's BIGINTs come as strings). */
export interface ApiTokenColumns {
  id: string;
  name: string;
  role: Role;
  place: string | null;
  access: TokenAccess;
  created_by: string;
  created_at: number | string;
  expires_at: number | string;
  revoked_at: number | string | null;
}

export const apiTokenOf = (r: ApiTokenColumns): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  place: r.place,
  access: r.access,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

/** The live token of a stored row at `now`: undefined when there is none, or it is revoked or expired. */
export const liveApiTokenOf = (r: ApiTokenColumns | undefined, now: number): ApiToken | undefined =>
  !r || r.revoked_at !== null || Number(r.expires_at) <= now ? undefined : apiTokenOf(r);

/** The columns both stores select, in this order. */
export const API_TOKEN_COLUMNS =
  'id, name, role, place, access, created_by, created_at, expires_at, revoked_at';

export function openApiTokenStore(db: Db): ApiTokenStore {
  db.exec(SCHEMA);
  const insert = db.prepare(
    `INSERT INTO api_tokens (id, token_hash, name, role, place, access, created_by, created_at, expires_at)
     VALUES (@id, @hash, @name, @role, @place, @access, @createdBy, @createdAt, @expiresAt)`,
  );
  const byHash = db.prepare<[string], ApiTokenColumns>(
    `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`,
  );
  const all = db.prepare<[], ApiTokenColumns>(
    `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id`,
  );
  const revoke = db.prepare<[number, string]>(
    'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  );
  return {
    async issue(t, now) {
      const issued = newApiToken(t, now);
      insert.run({ ...issued.record, hash: apiTokenHash(issued.token) });
      return issued;
    },
    verify: async (secret, now) => liveApiTokenOf(byHash.get(apiTokenHash(secret)), now),
    list: async () => all.all().map(apiTokenOf),
    revoke: async (id, now) => revoke.run(now, id).changes === 1,
  };
}
