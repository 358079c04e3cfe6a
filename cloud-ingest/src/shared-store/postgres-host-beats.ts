import type { HostBeats } from './host-beats.js';
import type { Query } from './postgres-query.js';

/** Host beats in PostgreSQL (`store.kind: postgres`): host-beats.ts's table (HOST_BEATS_SCHEMA). */
export function postgresHostBeats(q: Query): HostBeats {
  return {
    async beat(host, ttlMs, now) {
      await q(
        `INSERT INTO shared_host_beats (host, expires_at) VALUES ($1, $2)
         ON CONFLICT (host) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
        [host, now + ttlMs],
      );
    },
    async live(now) {
      const rows = await q<{ host: string }>(
        'SELECT host FROM shared_host_beats WHERE expires_at > $1 ORDER BY host',
        [now],
      );
      return rows.map((r) => r.host);
    },
    async leave(host) {
      await q('DELETE FROM shared_host_beats WHERE host = $1', [host]);
    },
  };
}
