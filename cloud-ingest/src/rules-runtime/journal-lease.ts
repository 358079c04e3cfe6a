import type { Db } from '../store/open-database.js';

/**
 * The rules lease in the shared cloud.db: at most one worker of an external-broker cloud runs the
 * rules (docs/scaling.md "Rules with several workers"). The holder renews it; a holder silent for
 * `leaseMs` is taken for dead and another rules-enabled worker may take it. The holder name is the
 * worker's MQTT client id, stable across its restarts, so a restarted rules worker gets its own
 * lease back at once instead of waiting for it to expire.
 */
export interface RulesLease {
  /** Takes or renews the lease; false while another live worker holds it. */
  acquire(): boolean;
  /** True while no other worker took the lease (read inside the rules state transaction: fencing). */
  held(): boolean;
  /** The current holder's name and expiry (ms epoch), for logs. */
  holder(): { holder: string; expiresAt: number } | undefined;
  /** Gives the lease up (on close), so a standby takes over without waiting. */
  release(): void;
}

export function openRulesLease(db: Db, name: string, leaseMs: number, now: () => number): RulesLease {
  db.exec(`CREATE TABLE IF NOT EXISTS rules_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
  // One statement, so two workers racing for an expired lease cannot both win.
  const take = db.prepare<{ name: string; until: number; now: number }>(
    `INSERT INTO rules_lease (id, holder, expires_at) VALUES (1, @name, @until)
     ON CONFLICT (id) DO UPDATE SET holder = @name, expires_at = @until
       WHERE rules_lease.holder = @name OR rules_lease.expires_at <= @now`,
  );
  const select = db.prepare<[], { holder: string; expires_at: number }>(
    'SELECT holder, expires_at FROM rules_lease WHERE id = 1',
  );
  const drop = db.prepare<[string]>('DELETE FROM rules_lease WHERE id = 1 AND holder = ?');
  return {
    acquire() {
      const t = now();
      return take.run({ name, until: t + leaseMs, now: t }).changes > 0;
    },
    held() {
      const r = select.get();
      // Expired but not taken is still safe: nobody else runs the rules, and the next renewal takes it back.
      return r !== undefined && r.holder === name;
    },
    holder() {
      const r = select.get();
      return r && { holder: r.holder, expiresAt: r.expires_at };
    },
    release() {
      drop.run(name);
    },
  };
}
