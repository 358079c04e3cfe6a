import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/open-database.js';
import type { Role } from './user-config.js';

/**
 * API tokens for scripts and integrations (Grafana, reports), in cloud.db. A token is 256 random
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

export interface ApiTokenStore {
  /** Stores a new token and returns it with the secret (the only time the secret exists outside the caller). */
  issue(t: NewApiToken, now: number): { token: string; record: ApiToken };
  /** The live token of a secret: undefined when unknown, revoked or expired. */
  verify(secret: string, now: number): ApiToken | undefined;
  list(): ApiToken[];
  /** Marks a token revoked; false when no such id or already revoked. */
  revoke(id: string, now: number): boolean;
}

/** Prefix of every secret: lets secret scanners and operators recognise a leaked village token. */
export const TOKEN_PREFIX = 'vt_';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    place TEXT, access TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, revoked_at INTEGER);
`;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

interface Row {
  id: string;
  name: string;
  role: Role;
  place: string | null;
  access: TokenAccess;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  place: r.place,
  access: r.access,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

const COLUMNS = 'id, name, role, place, access, created_by, created_at, expires_at, revoked_at';

export function openApiTokenStore(db: Db): ApiTokenStore {
  db.exec(SCHEMA);
  const insert = db.prepare(
    `INSERT INTO api_tokens (id, token_hash, name, role, place, access, created_by, created_at, expires_at)
     VALUES (@id, @hash, @name, @role, @place, @access, @createdBy, @createdAt, @expiresAt)`,
  );
  const byHash = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE token_hash = ?`);
  const all = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`);
  const revoke = db.prepare<[number, string]>(
    'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  );
  return {
    issue(t, now) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const record: ApiToken = { ...t, id: randomUUID(), createdAt: now, revokedAt: null };
      insert.run({ ...record, hash: hash(token) });
      return { token, record };
    },
    verify(secret, now) {
      const row = byHash.get(hash(secret));
      if (!row || row.revoked_at !== null || row.expires_at <= now) return undefined;
      return toToken(row);
    },
    list: () => all.all().map(toToken),
    revoke: (id, now) => revoke.run(now, id).changes === 1,
  };
}
