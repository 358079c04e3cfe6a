import type { Db } from './open-database.js';

/**
 * The admin audit: every change of the registry and of credentials, with who made it, when, and
 * the entity before and after (never a secret or a password hash). Written in the transaction of
 * the change itself, so a change without its audit row cannot exist.
 */
export interface AuditEntry {
  ts: number;
  actor: string;
  /** create | update | remove | import | issue-credential | rotate-credential | revoke-credential | set-password */
  action: string;
  entity: string;
  entityId: string;
  before: unknown;
  after: unknown;
}

export function appendAudit(db: Db, e: AuditEntry): void {
  db.prepare(
    `INSERT INTO admin_audit (ts, actor, action, entity, entity_id, before, after)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    e.ts,
    e.actor,
    e.action,
    e.entity,
    e.entityId,
    e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
    e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
  );
}

export function listAudit(
  db: Db,
  q: { entity?: string | undefined; entityId?: string | undefined; limit: number },
): (AuditEntry & { id: number })[] {
  return db
    .prepare<
      { entity: string | null; id: string | null; limit: number },
      {
        id: number;
        ts: number;
        actor: string;
        action: string;
        entity: string;
        entity_id: string;
        before: string | null;
        after: string | null;
      }
    >(
      `SELECT * FROM admin_audit WHERE (@entity IS NULL OR entity = @entity) AND (@id IS NULL OR entity_id = @id)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({ entity: q.entity ?? null, id: q.entityId ?? null, limit: q.limit })
    .map((r) => ({
      id: r.id,
      ts: r.ts,
      actor: r.actor,
      action: r.action,
      entity: r.entity,
      entityId: r.entity_id,
      before: r.before === null ? null : JSON.parse(r.before),
      after: r.after === null ? null : JSON.parse(r.after),
    }));
}
