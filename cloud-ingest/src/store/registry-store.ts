import type { InventoryEntry } from '@village/protocol';
import type { RegistryFile } from '../registry-file.js';
import type { PlaceTags } from '../sink/sink.js';
import type { Db } from './open-database.js';

/**
 * Places, edges, devices and people in SQLite. registry.yaml is the source of truth for places and
 * people (replaced on start); edges keep their runtime state (online, boot) across restarts;
 * devices are pre-registered from the yaml or learned from births and batches.
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
  ): BirthResult;
  /** Marks the edge offline only when the death names the edge's current boot (a stale will is ignored). */
  recordDeath(edgeId: string, boot: number): DeathResult;
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
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS counties (id TEXT PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS towns (id TEXT PRIMARY KEY, county TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS villages (id TEXT PRIMARY KEY, town TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS stations (id TEXT PRIMARY KEY, village TEXT NOT NULL, name TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS edges (
    id TEXT PRIMARY KEY, station TEXT, online INTEGER NOT NULL DEFAULT 0, boot INTEGER,
    last_birth_ts INTEGER, last_seen INTEGER, version TEXT);
  CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, driver TEXT NOT NULL, edge TEXT,
    metrics TEXT NOT NULL DEFAULT '[]', source TEXT NOT NULL, last_seen INTEGER);
  CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, station TEXT NOT NULL, wristband TEXT,
    lives_alone INTEGER NOT NULL, heart_rate_min REAL, heart_rate_max REAL, spo2_min REAL, spo2_max REAL);
`;

const NO_PLACE: PlaceTags = { county: null, town: null, village: null, station: null };

export function openRegistryStore(
  db: Db,
  file: RegistryFile,
  credentialEdges: readonly string[],
): RegistryStore {
  db.exec(SCHEMA);
  addStationWaterBody(db);
  syncFromFile(db, file, credentialEdges);

  const places = new Map<string, PlaceTags>();
  for (const c of file.counties)
    for (const t of c.towns)
      for (const v of t.villages)
        for (const s of v.stations)
          for (const e of s.edges) places.set(e, { county: c.id, town: t.id, village: v.id, station: s.id });

  const selectEdge = db.prepare<[string], { boot: number | null }>('SELECT boot FROM edges WHERE id = ?');
  const birth = db.prepare<{
    id: string;
    station: string | null;
    boot: number;
    ts: number;
    version: string;
    now: number;
  }>(
    `INSERT INTO edges (id, station, online, boot, last_birth_ts, last_seen, version)
     VALUES (@id, @station, 1, @boot, @ts, @now, @version)
     ON CONFLICT (id) DO UPDATE SET online = 1, boot = @boot, last_birth_ts = @ts, last_seen = @now, version = @version`,
  );
  const death = db.prepare<[string]>('UPDATE edges SET online = 0 WHERE id = ?');
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

  const applyBirth = db.transaction(
    (edgeId: string, boot: number, ts: number, version: string, devices: InventoryEntry[], now: number) => {
      birth.run({ id: edgeId, station: places.get(edgeId)?.station ?? null, boot, ts, version, now });
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
    placeOf: (edgeId) => places.get(edgeId) ?? NO_PLACE,
    recordBirth(edgeId, boot, ts, version, devices, now) {
      const current = selectEdge.get(edgeId)?.boot;
      if (current !== undefined && current !== null && boot < current) return 'stale';
      applyBirth(edgeId, boot, ts, version, devices, now);
      return 'applied';
    },
    recordDeath(edgeId, boot) {
      const row = selectEdge.get(edgeId);
      if (row === undefined) return 'unknown-edge';
      if (row.boot !== boot) return 'stale';
      death.run(edgeId);
      return 'applied';
    },
    noteDevicesSeen(edgeId, seen) {
      for (const [id, ts] of seen) deviceSeen.run({ id, edge: edgeId, ts });
    },
    foreignDevices(edgeId, devices) {
      const foreign = new Map<string, string>();
      for (const id of devices) {
        const owner = ownerOf.get(id)?.edge;
        if (owner != null && owner !== edgeId) foreign.set(id, owner);
      }
      return foreign;
    },
    noteEdgeSeen(edgeId, now) {
      edgeSeen.run({ id: edgeId, station: places.get(edgeId)?.station ?? null, now });
    },
    edges: () =>
      selectEdges.all().map((r) => ({
        id: r.id,
        station: r.station,
        online: r.online === 1,
        boot: r.boot,
        lastBirthTs: r.last_birth_ts,
        lastSeen: r.last_seen,
        version: r.version,
      })),
    devices: () =>
      selectDevices.all().map((r) => ({
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
      })),
  };
}

/** A cloud.db from before stations had a water body gets the column (null: not a water station). */
function addStationWaterBody(db: Db): void {
  db.transaction(() => {
    const cols = db
      .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('stations')")
      .all()
      .map((c) => c.name);
    if (!cols.includes('water_body')) db.exec('ALTER TABLE stations ADD COLUMN water_body TEXT');
  })();
}

/** Mirrors registry.yaml into SQLite in one transaction: places and people replaced, edges and devices upserted. */
function syncFromFile(db: Db, file: RegistryFile, credentialEdges: readonly string[]): void {
  const insCounty = db.prepare('INSERT INTO counties (id, name) VALUES (?, ?)');
  const insTown = db.prepare('INSERT INTO towns (id, county, name) VALUES (?, ?, ?)');
  const insVillage = db.prepare('INSERT INTO villages (id, town, name) VALUES (?, ?, ?)');
  const insStation = db.prepare('INSERT INTO stations (id, village, name, water_body) VALUES (?, ?, ?, ?)');
  const upsertEdge = db.prepare(
    'INSERT INTO edges (id, station) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET station = excluded.station',
  );
  const insPerson = db.prepare(
    `INSERT INTO people (id, name, station, wristband, lives_alone, heart_rate_min, heart_rate_max, spo2_min, spo2_max)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertDevice = db.prepare(
    `INSERT INTO devices (id, kind, driver, edge, source) VALUES (?, ?, ?, ?, 'registry')
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, edge = excluded.edge`,
  );
  db.transaction(() => {
    db.exec(
      'DELETE FROM counties; DELETE FROM towns; DELETE FROM villages; DELETE FROM stations; DELETE FROM people;',
    );
    db.exec('UPDATE edges SET station = NULL');
    const placed = new Set<string>();
    for (const c of file.counties) {
      insCounty.run(c.id, c.name);
      for (const t of c.towns) {
        insTown.run(t.id, c.id, t.name);
        for (const v of t.villages) {
          insVillage.run(v.id, t.id, v.name);
          for (const s of v.stations) {
            insStation.run(s.id, v.id, s.name, s.waterBody ?? null);
            for (const e of s.edges) {
              upsertEdge.run(e, s.id);
              placed.add(e);
            }
          }
        }
      }
    }
    for (const e of credentialEdges) if (!placed.has(e)) upsertEdge.run(e, null);
    for (const p of file.people) {
      insPerson.run(
        p.id,
        p.name,
        p.station,
        p.wristband ?? null,
        p.livesAlone ? 1 : 0,
        p.heartRate?.[0] ?? null,
        p.heartRate?.[1] ?? null,
        p.spo2?.[0] ?? null,
        p.spo2?.[1] ?? null,
      );
    }
    for (const d of file.devices) upsertDevice.run(d.id, d.kind, d.driver, d.edge);
  })();
}
