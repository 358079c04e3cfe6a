import type { Db } from '../store/open-database.js';

/**
 * The hosts that run rules partitions, each counted while its beat has not expired: the lease
 * rounds of partitioned-rules.ts give each live host its share of the partitions by it. A host
 * holding no partition has no lease to show it is there, hence a beat of its own.
 */
export interface HostBeats {
  /** `host` is alive until `now + ttlMs`. */
  beat(host: string, ttlMs: number, now: number): Promise<void>;
  /** The hosts whose beat has not expired at `now`, by name. */
  live(now: number): Promise<string[]>;
  /** Takes `host` out at once (a clean stop), so the others take its share without waiting. */
  leave(host: string): Promise<void>;
}

/** Both stores' table (BIGINT is an integer column to SQLite too). */
export const HOST_BEATS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_host_beats (host TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
`;

/** The SQLite SharedStore's beats: the hosts are workers of one machine sharing one file. */
export function sqliteHostBeats(db: Db): HostBeats {
  db.exec(HOST_BEATS_SCHEMA);
  const beat = db.prepare<[string, number]>(
    `INSERT INTO shared_host_beats (host, expires_at) VALUES (?, ?)
     ON CONFLICT (host) DO UPDATE SET expires_at = excluded.expires_at`,
  );
  const live = db.prepare<[number], { host: string }>(
    'SELECT host FROM shared_host_beats WHERE expires_at > ? ORDER BY host',
  );
  const leave = db.prepare<[string]>('DELETE FROM shared_host_beats WHERE host = ?');
  return {
    async beat(host, ttlMs, now) {
      beat.run(host, now + ttlMs);
    },
    live: async (now) => live.all(now).map((r) => r.host),
    async leave(host) {
      leave.run(host);
    },
  };
}
