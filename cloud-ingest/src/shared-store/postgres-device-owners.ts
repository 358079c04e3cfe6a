import type pg from 'pg';
import type { RegistryFile } from '../registry-file.js';
import type { DeviceOwnerStore } from '../store/device-owner-store.js';
import type { Query } from './postgres-query.js';

/**
 * Device owners in PostgreSQL (`store.kind: postgres`): batches reach one host each (shared
 * subscription), so an owner claimed only in the host's own cloud.db left the device free on the
 * other hosts, and a second edge sending it through one of them got it too. Here the first claim
 * anywhere wins for every host; `source` is 'registry' (registry.yaml), 'birth' or 'reading'.
 */
export const DEVICE_OWNERS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_device_owners (
    device TEXT PRIMARY KEY, edge TEXT NOT NULL, source TEXT NOT NULL);
`;

export function postgresDeviceOwners(q: Query): DeviceOwnerStore {
  return {
    async claim(claims) {
      if (claims.length === 0) return new Map();
      // DO UPDATE (a no-op on edge), not DO NOTHING: its RETURNING gives every device's owner in
      // this one statement, even one another host committed while this statement ran (a read in
      // the same statement would not see that commit, and a second statement is a second round
      // trip). The first claim of a device in the list wins (DISTINCT ON by position); rows are
      // taken in one fixed order on every host, so two hosts' claims wait, never deadlock. The
      // registry's row first, shared (FOR SHARE; claims do not wait for each other): an admin's
      // change holds it while it writes the owners it names (writeRegistryOwners), so a claim waits
      // for that commit instead of taking owner rows in another order (a deadlock).
      const rows = await q<{ device: string; edge: string }>(
        `WITH registry AS (SELECT 1 FROM shared_registry WHERE id = 1 FOR SHARE)
         INSERT INTO shared_device_owners AS o (device, edge, source)
         SELECT device, edge, source FROM (
           SELECT DISTINCT ON (u.device) u.device, u.edge, u.source
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(device, edge, source, i)
            ORDER BY u.device, u.i) AS first, registry
          ORDER BY device COLLATE "C"
         ON CONFLICT (device) DO UPDATE SET edge = o.edge
         RETURNING device, edge`,
        [claims.map((c) => c.device), claims.map((c) => c.edge), claims.map((c) => c.source)],
      );
      return new Map(rows.map((r) => [r.device, r.edge]));
    },
    async owners() {
      const rows = await q<{ device: string; edge: string }>('SELECT device, edge FROM shared_device_owners');
      return new Map(rows.map((r) => [r.device, r.edge]));
    },
  };
}

/**
 * Makes the owners agree with the registry document an admin change (or a host's start) writes,
 * on the transaction's connection that holds `shared_registry`'s row (postgres-registry.ts
 * `update`), so the document and the owners commit together or not at all: each device the
 * document names is its edge's (over any claim), and a device named before and no longer (an
 * admin removed it) loses its owner, to be claimed again by the first edge that sends it, as on
 * one host. One statement; rows that already agree are not rewritten.
 */
export async function writeRegistryOwners(c: pg.PoolClient, devices: RegistryFile['devices']): Promise<void> {
  await c.query(
    `WITH named AS (SELECT * FROM unnest($1::text[], $2::text[]) AS u(device, edge)),
          gone AS (
            DELETE FROM shared_device_owners o
             WHERE o.source = 'registry' AND NOT EXISTS (SELECT 1 FROM named n WHERE n.device = o.device))
     INSERT INTO shared_device_owners AS o (device, edge, source)
     SELECT device, edge, 'registry' FROM named ORDER BY device COLLATE "C"
     ON CONFLICT (device) DO UPDATE SET edge = EXCLUDED.edge, source = 'registry'
      WHERE o.edge <> EXCLUDED.edge OR o.source <> 'registry'`,
    [devices.map((d) => d.id), devices.map((d) => d.edge)],
  );
}
