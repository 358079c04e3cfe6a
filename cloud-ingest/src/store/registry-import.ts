import { createHash } from 'node:crypto';
import type { RegistryFile } from '../registry-file.js';
import { appendAudit } from './admin-audit.js';
import type { Db } from './open-database.js';

type Person = RegistryFile['people'][number];

/** One person's row, for the import and the admin API alike (registry-entities.ts). */
export const INSERT_PERSON = `INSERT INTO people (id, name, station, wristband, lives_alone, heart_rate_min,
   heart_rate_max, spo2_min, spo2_max, waking, quiet, report_interval_ms)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The values of INSERT_PERSON, in its column order. */
export const personColumns = (p: Person) =>
  [
    p.id,
    p.name,
    p.station,
    p.wristband ?? null,
    p.livesAlone ? 1 : 0,
    p.heartRate?.[0] ?? null,
    p.heartRate?.[1] ?? null,
    p.spo2?.[0] ?? null,
    p.spo2?.[1] ?? null,
    p.waking ? JSON.stringify(p.waking) : null,
    p.quiet ? JSON.stringify(p.quiet) : null,
    p.reportIntervalMs ?? null,
  ] as const;

/**
 * registry.yaml in and out of the store. An import replaces places, people (and users, when the
 * file lists them) and places edges at their stations, in one transaction; devices the file
 * pre-registers are upserted, learned ones are kept. Importing the same file twice changes
 * nothing, and an export imported again gives the same store (the tests check both).
 */
export function importRegistry(
  db: Db,
  file: RegistryFile,
  opts: { actor: string; now: number; credentialEdges?: readonly string[] },
): { changed: boolean } {
  const before = exportRegistry(db);
  const insCounty = db.prepare('INSERT INTO counties (id, name) VALUES (?, ?)');
  const insTown = db.prepare('INSERT INTO towns (id, county, name) VALUES (?, ?, ?)');
  const insVillage = db.prepare('INSERT INTO villages (id, town, name) VALUES (?, ?, ?)');
  const insStation = db.prepare('INSERT INTO stations (id, village, name, water_body) VALUES (?, ?, ?, ?)');
  const upsertEdge = db.prepare(
    'INSERT INTO edges (id, station) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET station = excluded.station',
  );
  const insPerson = db.prepare(INSERT_PERSON);
  const upsertDevice = db.prepare(
    `INSERT INTO devices (id, kind, driver, edge, source) VALUES (?, ?, ?, ?, 'registry')
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, edge = excluded.edge,
       source = 'registry'`,
  );
  const insUser = db.prepare(
    'INSERT INTO registry_users (username, name, role, place, password_hash) VALUES (?, ?, ?, ?, ?)',
  );
  return db.transaction(() => {
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
    for (const e of opts.credentialEdges ?? []) if (!placed.has(e)) upsertEdge.run(e, null);
    for (const p of file.people) {
      insPerson.run(...personColumns(p));
    }
    for (const d of file.devices) upsertDevice.run(d.id, d.kind, d.driver, d.edge);
    if (file.users !== undefined) {
      db.exec('DELETE FROM registry_users');
      for (const u of file.users) insUser.run(u.username, u.name, u.role, u.place ?? null, u.passwordHash);
    }
    const after = exportRegistry(db);
    const changed = fingerprint(before) !== fingerprint(after);
    if (changed)
      appendAudit(db, {
        ts: opts.now,
        actor: opts.actor,
        action: 'import',
        entity: 'registry',
        entityId: '*',
        before: summary(before),
        after: summary(after),
      });
    return { changed };
  })();
}

/**
 * At start, cloud.yaml's `registry:` file is imported only when it differs from the one imported
 * last (its fingerprint is kept in registry_meta): a restart keeps what admins changed through
 * the API, and an edited registry.yaml still takes effect, as it did when the file was the source.
 */
export function importAtStart(
  db: Db,
  file: RegistryFile,
  credentialEdges: readonly string[],
  now: number,
): { imported: boolean } {
  const print = fingerprint(file);
  const last = db
    .prepare<[], { value: string }>("SELECT value FROM registry_meta WHERE key = 'start_import_sha256'")
    .get()?.value;
  const upsertEdge = db.prepare(
    'INSERT INTO edges (id, station) VALUES (?, NULL) ON CONFLICT (id) DO NOTHING',
  );
  return db.transaction(() => {
    if (last === print) {
      for (const e of credentialEdges) upsertEdge.run(e);
      return { imported: false };
    }
    importRegistry(db, file, { actor: 'registry.yaml at start', now, credentialEdges });
    db.prepare(
      "INSERT INTO registry_meta (key, value) VALUES ('start_import_sha256', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(print);
    return { imported: true };
  })();
}

/** The SHA-256 of a registry as read from its file: what importAtStart compares (and the shared registry records). */
export const fingerprint = (file: RegistryFile) =>
  createHash('sha256').update(JSON.stringify(file)).digest('hex');

const summary = (f: RegistryFile) => ({
  counties: f.counties.length,
  towns: f.counties.reduce((n, c) => n + c.towns.length, 0),
  villages: f.counties.reduce((n, c) => n + c.towns.reduce((m, t) => m + t.villages.length, 0), 0),
  people: f.people.length,
  devices: f.devices.length,
  users: f.users?.length ?? 0,
});

interface PersonRow {
  id: string;
  name: string;
  station: string;
  wristband: string | null;
  lives_alone: number;
  heart_rate_min: number | null;
  heart_rate_max: number | null;
  spo2_min: number | null;
  spo2_max: number | null;
  waking: string | null;
  quiet: string | null;
  report_interval_ms: number | null;
}

/** The store's registry as registry.yaml holds it (ids sorted, so an export is stable). */
export function exportRegistry(db: Db): RegistryFile {
  const all = <T>(sql: string) => db.prepare<[], T>(sql).all();
  const counties = all<{ id: string; name: string }>('SELECT id, name FROM counties ORDER BY id');
  const towns = all<{ id: string; county: string; name: string }>('SELECT * FROM towns ORDER BY id');
  const villages = all<{ id: string; town: string; name: string }>('SELECT * FROM villages ORDER BY id');
  const stations = all<{ id: string; village: string; name: string; water_body: string | null }>(
    'SELECT id, village, name, water_body FROM stations ORDER BY id',
  );
  const edges = all<{ id: string; station: string }>(
    'SELECT id, station FROM edges WHERE station IS NOT NULL ORDER BY id',
  );
  const people = all<PersonRow>('SELECT * FROM people ORDER BY id');
  const devices = all<{ id: string; edge: string; kind: string; driver: string }>(
    "SELECT id, edge, kind, driver FROM devices WHERE source = 'registry' AND edge IS NOT NULL ORDER BY id",
  );
  const users = all<{
    username: string;
    name: string;
    role: string;
    place: string | null;
    password_hash: string;
  }>('SELECT * FROM registry_users ORDER BY username');
  return {
    counties: counties.map((c) => ({
      id: c.id,
      name: c.name,
      towns: towns
        .filter((t) => t.county === c.id)
        .map((t) => ({
          id: t.id,
          name: t.name,
          villages: villages
            .filter((v) => v.town === t.id)
            .map((v) => ({
              id: v.id,
              name: v.name,
              stations: stations
                .filter((s) => s.village === v.id)
                .map((s) => ({
                  id: s.id,
                  name: s.name,
                  edges: edges.filter((e) => e.station === s.id).map((e) => e.id),
                  ...(s.water_body ? { waterBody: s.water_body as 'river' | 'lake' | 'reservoir' } : {}),
                })),
            })),
        })),
    })),
    people: people.map(personOfRow),
    devices,
    users: users.map((u) => ({
      username: u.username,
      name: u.name,
      role: u.role as 'admin' | 'county' | 'town' | 'village',
      ...(u.place !== null ? { place: u.place } : {}),
      passwordHash: u.password_hash,
    })),
  };
}

export function personOfRow(p: PersonRow): RegistryFile['people'][number] {
  return {
    id: p.id,
    name: p.name,
    station: p.station,
    ...(p.wristband !== null ? { wristband: p.wristband } : {}),
    livesAlone: p.lives_alone === 1,
    ...(p.heart_rate_min !== null && p.heart_rate_max !== null
      ? { heartRate: [p.heart_rate_min, p.heart_rate_max] as [number, number] }
      : {}),
    ...(p.spo2_min !== null && p.spo2_max !== null
      ? { spo2: [p.spo2_min, p.spo2_max] as [number, number] }
      : {}),
    ...(p.waking !== null ? { waking: JSON.parse(p.waking) } : {}),
    ...(p.quiet !== null ? { quiet: JSON.parse(p.quiet) } : {}),
    ...(p.report_interval_ms !== null ? { reportIntervalMs: p.report_interval_ms } : {}),
  };
}
