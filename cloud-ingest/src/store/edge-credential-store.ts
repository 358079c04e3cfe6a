import { randomUUID } from 'node:crypto';
import { newEdgeSecret } from '../broker/edge-secret.js';
import { appendAudit } from './admin-audit.js';
import type { Db } from './open-database.js';

/**
 * Edge credentials issued by the admin API: machine secrets (`sha256$...`, broker/edge-secret.ts),
 * shown once and kept only as hashes. Rotating issues a new secret and gives the current one an
 * end (`validUntil`): both are accepted until then, so the edge can be given its new secret
 * without a moment offline. Revoking ends every live one at once.
 *
 * An edge with any row here is judged by these rows alone; an edge without any keeps its
 * cloud.yaml `edges[].passwordHash` (the credentials a cloud had before the API).
 */
export interface EdgeCredential {
  id: string;
  edge: string;
  createdAt: number;
  createdBy: string;
  /** null: no end (the current secret). */
  validUntil: number | null;
  revokedAt: number | null;
}

interface Row {
  id: string;
  edge: string;
  hash: string;
  created_at: number;
  created_by: string;
  valid_until: number | null;
  revoked_at: number | null;
}

const live = (r: Row, now: number) =>
  r.revoked_at === null && (r.valid_until === null || r.valid_until > now);
const view = (r: Row): EdgeCredential => ({
  id: r.id,
  edge: r.edge,
  createdAt: r.created_at,
  createdBy: r.created_by,
  validUntil: r.valid_until,
  revokedAt: r.revoked_at,
});

export interface EdgeCredentialStore {
  /**
   * A new secret for the edge (returned once). A current secret gets `validUntil = now + overlapMs`
   * (0: it ends now); an older one still in its overlap keeps its own end.
   */
  issue(
    edge: string,
    opts: { actor: string; now: number; overlapMs: number },
  ): { secret: string; credential: EdgeCredential; previous: EdgeCredential[] };
  /** Ends every live secret of the edge, its cloud.yaml one included; returns how many of the API's. */
  revoke(edge: string, opts: { actor: string; now: number }): number;
  list(edge: string): EdgeCredential[];
  /** Hashes accepted now for the edge; undefined when the API never issued it one. */
  hashesOf(edge: string, now: number): string[] | undefined;
}

export function openEdgeCredentialStore(db: Db): EdgeCredentialStore {
  const rowsOf = db.prepare<[string], Row>(
    'SELECT * FROM edge_credentials WHERE edge = ? ORDER BY created_at, id',
  );
  const insert = db.prepare(
    `INSERT INTO edge_credentials (id, edge, hash, created_at, created_by, valid_until, revoked_at)
     VALUES (?, ?, ?, ?, ?, NULL, NULL)`,
  );
  const end = db.prepare('UPDATE edge_credentials SET valid_until = ? WHERE id = ?');
  const revokeOne = db.prepare('UPDATE edge_credentials SET revoked_at = ? WHERE id = ?');
  return {
    issue: (edge, { actor, now, overlapMs }) =>
      db.transaction(() => {
        const current = rowsOf.all(edge).filter((r) => live(r, now) && r.valid_until === null);
        for (const r of current) end.run(now + overlapMs, r.id);
        const { secret, passwordHash } = newEdgeSecret();
        const id = randomUUID();
        insert.run(id, edge, passwordHash, now, actor);
        const rows = rowsOf.all(edge);
        const credential = view(rows.find((r) => r.id === id)!);
        const previous = rows.filter((r) => current.some((c) => c.id === r.id)).map(view);
        appendAudit(db, {
          ts: now,
          actor,
          action: current.length > 0 ? 'rotate-credential' : 'issue-credential',
          entity: 'edge',
          entityId: edge,
          before: current.length > 0 ? { credentials: current.map(view) } : null,
          after: { credential, previous },
        });
        return { secret, credential, previous };
      })(),
    revoke: (edge, { actor, now }) =>
      db.transaction(() => {
        const rows = rowsOf.all(edge);
        const ended = rows.filter((r) => live(r, now));
        for (const r of ended) revokeOne.run(now, r.id);
        // An edge the API never issued a secret keeps its cloud.yaml hash; a revoked row here
        // makes this store the judge of the edge, so that hash is refused from now on too.
        if (rows.length === 0) {
          insert.run(randomUUID(), edge, 'revoked', now, actor);
          revokeOne.run(now, rowsOf.all(edge)[0]!.id);
        }
        appendAudit(db, {
          ts: now,
          actor,
          action: 'revoke-credential',
          entity: 'edge',
          entityId: edge,
          before: { credentials: ended.map(view) },
          after: { revoked: ended.map((r) => r.id) },
        });
        return ended.length;
      })(),
    list: (edge) => rowsOf.all(edge).map(view),
    hashesOf(edge, now) {
      const rows = rowsOf.all(edge);
      if (rows.length === 0) return undefined;
      return rows.filter((r) => live(r, now)).map((r) => r.hash);
    },
  };
}

/**
 * What the embedded broker checks a CONNECT against: the API's credentials of the edge, read
 * from the store at each connect (a new edge gets in at once, a revoked one never again), else
 * its cloud.yaml hash.
 */
export function edgeCredentialLookup(
  store: EdgeCredentialStore,
  configured: readonly { id: string; passwordHash: string }[],
  now: () => number,
): { get(edge: string): readonly string[] | undefined } {
  const fromConfig = new Map(configured.map((e) => [e.id, e.passwordHash]));
  return {
    get(edge) {
      const issued = store.hashesOf(edge, now());
      if (issued !== undefined) return issued;
      const hash = fromConfig.get(edge);
      return hash === undefined ? undefined : [hash];
    },
  };
}
