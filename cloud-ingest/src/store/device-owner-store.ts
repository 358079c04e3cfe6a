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
 * hosts): a device belongs to the edge registry.yaml names, else to the edge whose claim came
 * first, on any host. SQLite (one cloud.db, its registry's `devices`) and PostgreSQL
 * (shared-store/postgres-device-owners.ts) pass one suite (test/shared-device-owners-suite.ts).
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
  /**
   * The owners registry.yaml names, imported by each host at start. They override claims. They
   * override another file's owner only when `moved` (this host's file changed since it was last
   * imported, registry-store.ts `fileImportedAtStart`): an admin moves a device by editing the
   * file, and a host restarting with a copy it had before does not move it back.
   */
  importFileOwners(devices: RegistryFile['devices'], moved: boolean): Promise<void>;
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
  const upsertFile = db.prepare<{ id: string; kind: string; driver: string; edge: string; moved: number }>(
    `INSERT INTO devices (id, kind, driver, edge, source) VALUES (@id, @kind, @driver, @edge, 'registry')
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, edge = excluded.edge,
       source = 'registry'
     WHERE devices.source <> 'registry' OR @moved = 1`,
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
  const importFile = db.transaction((devices: RegistryFile['devices'], moved: boolean) => {
    for (const d of devices) upsertFile.run({ ...d, moved: moved ? 1 : 0 });
  });
  return {
    claim: async (claims) => (claims.length === 0 ? new Map() : claim.immediate(claims)),
    owners: async () => new Map(allOwners.all().map((r) => [r.id, r.edge])),
    importFileOwners: async (devices, moved) => importFile.immediate(devices, moved),
  };
}
