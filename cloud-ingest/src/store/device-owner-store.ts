import type { RegistryFile } from '../registry-file.js';
import type { Db } from './open-database.js';
import { createRegistrySchema } from './registry-store.js';

/** A claim of a device by the edge that announced it (birth) or sent it (batch). */
export interface DeviceClaim {
  device: string;
  edge: string;
  source: 'birth' | 'reading';
}

/**
 * Who owns which device, where several ingest hosts see it alike (issue 13 finding 2 across
 * hosts): a device belongs to the edge the registry names (registry.yaml, or an admin through the
 * API: the shared registry document, whose writes set these owners in their own transaction,
 * writeRegistryOwners), else to the edge whose claim came first, on any host. SQLite (one
 * cloud.db, its registry's `devices`) and PostgreSQL (shared-store/postgres-device-owners.ts)
 * pass one suite (test/shared-device-owners-suite.ts).
 */
export interface DeviceOwnerStore {
  /**
   * Claims each device that has no owner yet for the edge named with it (the first claim of a
   * device in the list, and across stores the first to commit, wins) and returns the owner of
   * every device claimed: its new owner, or the one it had. One round trip.
   */
  claim(claims: readonly DeviceClaim[]): Promise<Map<string, string>>;
  /** Every device's owner (a host's cache at start). */
  owners(): Promise<Map<string, string>>;
}

/**
 * The SQLite store on cloud.db's registry (`devices.edge`, the same rows registry-store.ts claims
 * through): one host, its workers each on their own connection.
 */
export function openDeviceOwnerStore(db: Db): DeviceOwnerStore {
  // IMMEDIATE: several workers opening one new cloud.db at once would race to migrate it.
  db.transaction(() => createRegistrySchema(db)).immediate();
  const upsertClaim = db.prepare<{ id: string; edge: string; source: string }>(
    `INSERT INTO devices (id, kind, driver, edge, source) VALUES (@id, 'unknown', 'unknown', @edge, @source)
     ON CONFLICT (id) DO UPDATE SET edge = @edge WHERE devices.edge IS NULL`,
  );
  const ownerOf = db.prepare<[string], { edge: string | null }>('SELECT edge FROM devices WHERE id = ?');
  const allOwners = db.prepare<[], { id: string; edge: string }>(
    'SELECT id, edge FROM devices WHERE edge IS NOT NULL',
  );
  const claim = db.transaction((claims: readonly DeviceClaim[]) => {
    const owners = new Map<string, string>();
    for (const c of claims) {
      if (owners.has(c.device)) continue;
      upsertClaim.run({ id: c.device, edge: c.edge, source: c.source });
      owners.set(c.device, ownerOf.get(c.device)!.edge!);
    }
    return owners;
  });
  return {
    claim: async (claims) => (claims.length === 0 ? new Map() : claim.immediate(claims)),
    owners: async () => new Map(allOwners.all().map((r) => [r.id, r.edge])),
  };
}

/**
 * The SQLite half of postgres-device-owners.ts's writeRegistryOwners, on the `devices` rows the
 * claims use (call inside the transaction that writes the registry document,
 * store/shared-registry-store.ts): each device the document names is its edge's, and a device it
 * named before and no longer loses its row, to be claimed again.
 */
export function writeRegistryOwners(db: Db, devices: RegistryFile['devices']): void {
  const upsert = db.prepare<{ id: string; kind: string; driver: string; edge: string }>(
    `INSERT INTO devices (id, kind, driver, edge, source) VALUES (@id, @kind, @driver, @edge, 'registry')
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, edge = excluded.edge,
       source = 'registry'`,
  );
  db.prepare(
    "DELETE FROM devices WHERE source = 'registry' AND id NOT IN (SELECT value FROM json_each(?))",
  ).run(JSON.stringify(devices.map((d) => d.id)));
  for (const d of devices) upsert.run(d);
}
