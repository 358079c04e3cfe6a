import type { InventoryEntry } from '@village/protocol';
import type { RegistryFile } from '../registry-file.js';
import type { PlaceTags } from '../sink/sink.js';
import type { Db } from './open-database.js';
import { importAtStart } from './registry-import.js';
import { ensureRegistryTables } from './registry-tables.js';

/**
 * Places, edges, devices and people in SQLite: the registry lives here, changed live by the admin
 * API (http/admin-routes.ts); registry.yaml is imported at start when it changed (registry-import.ts).
 * Edges keep their runtime state (online, boot) across restarts; devices are pre-registered
 * (yaml or API) or learned from births and batches.
 */
export interface EdgeRow {
  id: string;
  station: string | null;
  online: boolean;
  boot: number | null;
  lastBirthTs: number | null;
  lastSeen: number | null;
  version: string | null;
}

export interface DeviceRow {
  id: string;
  kind: string;
  driver: string;
  edge: string | null;
  station: string | null;
  village: string | null;
  town: string | null;
  county: string | null;
  metrics: { name: string; unit: string }[];
  lastSeen: number | null;
}

export type DeathResult = 'applied' | 'stale' | 'unknown-edge';
export type BirthResult = 'applied' | 'stale';

export interface RegistryStore {
  /** Whether registry.yaml was imported at this start: it differed from the one imported last (registry-import.ts). */
  readonly fileImportedAtStart: boolean;
  /** Place tags of an edge's station; all null when the edge has no station in the registry. */
  placeOf(edgeId: string): PlaceTags;
  /** Applies a birth unless its boot is older than the edge's current boot. */
  recordBirth(
    edgeId: string,
    boot: number,
    ts: number,
    version: string,
    devices: InventoryEntry[],
    now: number,
    bdSeq?: number,
  ): BirthResult;
  /**
   * Marks the edge offline only when the death names the edge's current boot and not an older
   * session of it (`bdSeq`, protocol types.ts): a stale will is ignored.
   */
  recordDeath(edgeId: string, boot: number, bdSeq?: number): DeathResult;
  /**
   * Records devices heard of in a batch (call inside the batch transaction). A device nobody owns
   * yet becomes this edge's; a device of another edge is never moved (pass only the edge's own).
   */
  noteDevicesSeen(edgeId: string, seen: Map<string, number>): void;
  /**
   * Of `devices`, those that belong to another edge, with their owner. A device belongs to the edge
   * registry.yaml names, else to the edge that first announced it (birth) or sent it (batch); only
   * an admin moves it, by naming another edge for it under `devices:` in registry.yaml.
   */
  foreignDevices(edgeId: string, devices: Iterable<string>): Map<string, string>;
  /** Updates the edge's last-seen time (call inside the batch transaction). */
  noteEdgeSeen(edgeId: string, now: number): void;
  edges(): EdgeRow[];
  devices(): DeviceRow[];
  /** Device → kind, of every device whose kind is known (one lean read: no joins, no last-seen flush). */
  knownKinds(): Map<string, string>;
  /** Reads the places of edges again, after an admin changed the registry. */
  refresh(): void;
  /** Writes the last-seen times held in memory (see LAST_SEEN_FLUSH_MS); call before closing the database. */
  flushLastSeen(): void;
}

/**
 * Last-seen times of devices and edges already in the registry are kept in memory and written at
 * most this often, ms, in one transaction, instead of one upsert per device and one per edge in
 * every batch's transaction: on a fleet of small batches those upserts were most of the per-batch
 * SQL. Reads (`edges`, `devices`) write them first, so the API is exact; a crash loses at most
 * this much of last-seen, never a reading and never a claim (a device or edge not yet in the
 * registry is still written inside the batch's transaction: who owns a device must commit with
 * the batch that claimed it).
 */
export const LAST_SEEN_FLUSH_MS = 5_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS counties (id TEXT PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS towns (id TEXT PRIMARY KEY, county TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS villages (id TEXT PRIMARY KEY, town TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS stations (id TEXT PRIMARY KEY, village TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS edges (
    id TEXT PRIMARY KEY, station TEXT, online INTEGER NOT NULL DEFAULT 0, boot INTEGER,
    last_birth_ts INTEGER, last_seen INTEGER, version TEXT, bd_seq INTEGER);
  CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, driver TEXT NOT NULL, edge TEXT,
    metrics TEXT NOT NULL DEFAULT '[]', source TEXT NOT NULL, last_seen INTEGER);
  CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, station TEXT NOT NULL, wristband TEXT,
    lives_alone INTEGER NOT NULL, heart_rate_min REAL, heart_rate_max REAL, spo2_min REAL, spo2_max REAL);
`;

/** A status of an earlier session of the same boot than the last one seen (an edge that sends no bdSeq never is). */
const olderSession = (bdSeq: number | undefined, last: number | null) =>
  bdSeq !== undefined && last !== null && bdSeq < last;

const NO_PLACE: PlaceTags = { county: null, town: null, village: null, station: null };

/** The registry's tables, created or brought to the current schema (idempotent; migrations call it). */
export function createRegistrySchema(db: Db): void {
  db.exec(SCHEMA);
  ensureRegistryTables(db);
}

export function openRegistryStore(
  db: Db,
  file: RegistryFile,
  credentialEdges: readonly string[],
  now: number = Date.now(),
): RegistryStore {
  createRegistrySchema(db);
  const { imported } = importAtStart(db, file, credentialEdges, now);

  const placeRows = db.prepare<[], PlaceTags & { edge: string }>(
    `SELECT e.id AS edge, s.id AS station, v.id AS village, t.id AS town, t.county AS county
       FROM edges e JOIN stations s ON s.id = e.station
       LEFT JOIN villages v ON v.id = s.village LEFT JOIN towns t ON t.id = v.town`,
  );
  // Read per batch on the ingest path: a map, rebuilt after each admin change (refresh).
  const places = new Map<string, PlaceTags>();
  // Device → its owning edge, once it has one: an owner changes only by an admin (then `refresh`),
  // so the ingest's ownership check costs a map lookup per device, not a query per batch. A device
  // with no owner yet is asked again each time (another worker sharing cloud.db may claim it).
  const owners = new Map<string, string>();
  // Edges known to have a committed row (read at start and after admin changes, or read back by
  // the flush): their last-seen may wait in memory; another gets its row in its batch's transaction.
  const edgeIds = db.prepare<[], { id: string }>('SELECT id FROM edges');
  const edgeRows = new Set<string>();
  const unconfirmedEdges = new Set<string>();
  const loadEdgeRows = () => {
    edgeRows.clear();
    for (const r of edgeIds.all()) edgeRows.add(r.id);
  };
  const refresh = () => {
    owners.clear();
    places.clear();
    // An admin may have removed an edge: only rows still there may wait in memory.
    loadEdgeRows();
    for (const r of placeRows.all())
      places.set(r.edge, { county: r.county, town: r.town, village: r.village, station: r.station });
  };
  refresh();

  const selectEdge = db.prepare<[string], { boot: number | null; bd_seq: number | null }>(
    'SELECT boot, bd_seq FROM edges WHERE id = ?',
  );
  const birth = db.prepare<{
    id: string;
    station: string | null;
    boot: number;
    ts: number;
    version: string;
    now: number;
    bdSeq: number | null;
  }>(
    `INSERT INTO edges (id, station, online, boot, last_birth_ts, last_seen, version, bd_seq)
     VALUES (@id, @station, 1, @boot, @ts, @now, @version, @bdSeq)
     ON CONFLICT (id) DO UPDATE SET online = 1, boot = @boot, last_birth_ts = @ts, last_seen = @now,
       version = @version, bd_seq = @bdSeq`,
  );
  // A death of a session this host never saw the birth of still ends it: its number is kept, so
  // that session's birth arriving later (retained on another broker) is stale too.
  const death = db.prepare<[number | null, string]>(
    'UPDATE edges SET online = 0, bd_seq = max(coalesce(bd_seq, 0), coalesce(?, 0)) WHERE id = ?',
  );
  const upsertInventory = db.prepare<{
    id: string;
    kind: string;
    driver: string;
    edge: string;
    metrics: string;
  }>(
    `INSERT INTO devices (id, kind, driver, edge, metrics, source, last_seen)
     VALUES (@id, @kind, @driver, @edge, @metrics, 'birth', NULL)
     ON CONFLICT (id) DO UPDATE SET kind = @kind, driver = @driver, edge = coalesce(devices.edge, @edge),
       metrics = @metrics, source = 'birth'
     WHERE devices.edge = @edge OR devices.edge IS NULL`,
  );
  const deviceSeen = db.prepare<{ id: string; edge: string; ts: number }>(
    `INSERT INTO devices (id, kind, driver, edge, source, last_seen) VALUES (@id, 'unknown', 'unknown', @edge, 'reading', @ts)
     ON CONFLICT (id) DO UPDATE SET edge = coalesce(devices.edge, @edge), last_seen = max(coalesce(last_seen, 0), @ts)
     WHERE devices.edge = @edge OR devices.edge IS NULL`,
  );
  const selectKinds = db.prepare<[], { id: string; kind: string }>(
    "SELECT id, kind FROM devices WHERE kind <> 'unknown'",
  );
  const ownerOf = db.prepare<[string], { edge: string | null }>('SELECT edge FROM devices WHERE id = ?');
  const edgeSeen = db.prepare<{ id: string; station: string | null; now: number }>(
    `INSERT INTO edges (id, station, last_seen) VALUES (@id, @station, @now)
     ON CONFLICT (id) DO UPDATE SET last_seen = @now`,
  );
  const selectEdges = db.prepare<
    [],
    {
      id: string;
      station: string | null;
      online: number;
      boot: number | null;
      last_birth_ts: number | null;
      last_seen: number | null;
      version: string | null;
    }
  >('SELECT * FROM edges ORDER BY id');
  const selectDevices = db.prepare<
    [],
    Omit<DeviceRow, 'metrics' | 'lastSeen'> & { metrics: string; last_seen: number | null }
  >(
    `SELECT d.id, d.kind, d.driver, d.edge, d.metrics, d.last_seen,
            s.id AS station, v.id AS village, t.id AS town, t.county AS county
       FROM devices d
       LEFT JOIN edges e ON e.id = d.edge
       LEFT JOIN stations s ON s.id = e.station
       LEFT JOIN villages v ON v.id = s.village
       LEFT JOIN towns t ON t.id = v.town
      ORDER BY d.id`,
  );

  const devicesSeenLater = new Map<string, { edge: string; ts: number }>();
  const edgesSeenLater = new Map<string, number>();
  let flushTimer: NodeJS.Timeout | undefined;
  const writeLastSeen = db.transaction(() => {
    for (const [id, { edge, ts }] of devicesSeenLater) deviceSeen.run({ id, edge, ts });
    for (const [id, now] of edgesSeenLater)
      edgeSeen.run({ id, station: places.get(id)?.station ?? null, now });
  });
  // Never inside a batch's transaction (a timer, or an API read), so what it reads is committed.
  function flushLastSeen(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    for (const id of unconfirmedEdges) if (selectEdge.get(id) !== undefined) edgeRows.add(id);
    unconfirmedEdges.clear();
    if (devicesSeenLater.size === 0 && edgesSeenLater.size === 0) return;
    writeLastSeen();
    devicesSeenLater.clear();
    edgesSeenLater.clear();
  }
  function armFlush(): void {
    const idle = devicesSeenLater.size === 0 && edgesSeenLater.size === 0 && unconfirmedEdges.size === 0;
    if (flushTimer !== undefined || idle) return;
    flushTimer = setTimeout(flushLastSeen, LAST_SEEN_FLUSH_MS);
    flushTimer.unref();
  }

  const applyBirth = db.transaction(
    (
      edgeId: string,
      boot: number,
      ts: number,
      version: string,
      devices: InventoryEntry[],
      now: number,
      bdSeq: number | null,
    ) => {
      birth.run({ id: edgeId, station: places.get(edgeId)?.station ?? null, boot, ts, version, now, bdSeq });
      for (const d of devices) {
        upsertInventory.run({
          id: d.id,
          kind: d.kind,
          driver: d.driver,
          edge: edgeId,
          metrics: JSON.stringify(d.metrics),
        });
      }
    },
  );

  return {
    fileImportedAtStart: imported,
    refresh,
    placeOf: (edgeId) => places.get(edgeId) ?? NO_PLACE,
    recordBirth(edgeId, boot, ts, version, devices, now, bdSeq) {
      const row = selectEdge.get(edgeId);
      if (row?.boot != null && boot < row.boot) return 'stale';
      if (row?.boot === boot && olderSession(bdSeq, row.bd_seq)) return 'stale';
      applyBirth(edgeId, boot, ts, version, devices, now, bdSeq ?? null);
      return 'applied';
    },
    recordDeath(edgeId, boot, bdSeq) {
      const row = selectEdge.get(edgeId);
      if (row === undefined) return 'unknown-edge';
      if (row.boot !== boot || olderSession(bdSeq, row.bd_seq)) return 'stale';
      death.run(bdSeq ?? null, edgeId);
      return 'applied';
    },
    noteDevicesSeen(edgeId, seen) {
      for (const [id, ts] of seen) {
        // Owned by this edge as committed (owners holds only rows read back): memory is enough.
        if (owners.get(id) === edgeId) {
          const held = devicesSeenLater.get(id);
          if (held === undefined || held.ts < ts) devicesSeenLater.set(id, { edge: edgeId, ts });
        } else deviceSeen.run({ id, edge: edgeId, ts });
      }
      armFlush();
    },
    foreignDevices(edgeId, devices) {
      const foreign = new Map<string, string>();
      for (const id of devices) {
        let owner = owners.get(id);
        if (owner === undefined) {
          owner = ownerOf.get(id)?.edge ?? undefined;
          if (owner !== undefined) owners.set(id, owner);
        }
        if (owner !== undefined && owner !== edgeId) foreign.set(id, owner);
      }
      return foreign;
    },
    noteEdgeSeen(edgeId, now) {
      if (edgeRows.has(edgeId)) {
        edgesSeenLater.set(edgeId, Math.max(edgesSeenLater.get(edgeId) ?? 0, now));
      } else {
        edgeSeen.run({ id: edgeId, station: places.get(edgeId)?.station ?? null, now });
        unconfirmedEdges.add(edgeId);
      }
      armFlush();
    },
    flushLastSeen,
    edges: () => {
      flushLastSeen();
      return selectEdges.all().map((r) => ({
        id: r.id,
        station: r.station,
        online: r.online === 1,
        boot: r.boot,
        lastBirthTs: r.last_birth_ts,
        lastSeen: r.last_seen,
        version: r.version,
      }));
    },
    knownKinds: () => new Map(selectKinds.all().map((r) => [r.id, r.kind])),
    devices: () => {
      flushLastSeen();
      return selectDevices.all().map((r) => ({
        id: r.id,
        kind: r.kind,
        driver: r.driver,
        edge: r.edge,
        station: r.station,
        village: r.village,
        town: r.town,
        county: r.county,
        metrics: JSON.parse(r.metrics) as DeviceRow['metrics'],
        lastSeen: r.last_seen,
      }));
    },
  };
}
