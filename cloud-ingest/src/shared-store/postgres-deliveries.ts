import type { Delivery } from '../notify/delivery-store.js';
import type { DeliveryLogStore } from '../notify/shared-delivery-log.js';
import type { Query } from './postgres-query.js';

/**
 * The notification delivery log in PostgreSQL (`store.kind: postgres`): each host sends some of
 * an incident's notices (the holder its notices, any host's firer an escalation) and copies its
 * deliveries here, so `GET /api/v1/incidents/{id}/notifications` on any host lists them all
 * (notify/shared-delivery-log.ts).
 */
export const DELIVERIES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_deliveries (
    key TEXT PRIMARY KEY, incident_id TEXT NOT NULL, created_at BIGINT NOT NULL, doc JSONB NOT NULL);
  CREATE INDEX IF NOT EXISTS shared_deliveries_by_incident ON shared_deliveries (incident_id, created_at);
`;

export function postgresDeliveries(q: Query): DeliveryLogStore {
  return {
    async put(deliveries) {
      if (deliveries.length === 0) return;
      // ON CONFLICT may touch a row once per statement: the last state of each key.
      const last = [...new Map(deliveries.map((d) => [d.key, d])).values()];
      await q(
        `INSERT INTO shared_deliveries (key, incident_id, created_at, doc)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[])
         ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc`,
        [
          last.map((d) => d.key),
          last.map((d) => d.incidentId),
          last.map((d) => d.createdAt),
          last.map((d) => JSON.stringify(d)),
        ],
      );
    },
    async byIncident(id) {
      const rows = await q<{ doc: Delivery }>(
        'SELECT doc FROM shared_deliveries WHERE incident_id = $1 ORDER BY created_at, key COLLATE "C"',
        [id],
      );
      return rows.map((r) => r.doc);
    },
  };
}
