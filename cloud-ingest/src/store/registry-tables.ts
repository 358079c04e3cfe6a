import type { Db } from './open-database.js';

/**
 * The registry's tables beyond places, edges and devices (registry-store.ts owns those): people's
 * care settings that registry.yaml carries, users kept in the store (officers added by an admin),
 * edge credentials issued by the API, the admin audit, and the fingerprint of the last registry.yaml
 * imported at start. Idempotent: the schema migration to version 2 and every start call it.
 */
export function ensureRegistryTables(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS registry_users (
      username TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, place TEXT,
      password_hash TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS edge_credentials (
      id TEXT PRIMARY KEY, edge TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL,
      created_by TEXT NOT NULL, valid_until INTEGER, revoked_at INTEGER);
    CREATE INDEX IF NOT EXISTS edge_credentials_edge ON edge_credentials (edge);
    CREATE TABLE IF NOT EXISTS admin_audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL, before TEXT, after TEXT);
    CREATE TABLE IF NOT EXISTS registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  const people = columnsOf(db, 'people');
  // Before version 2 the people table lacked what registry.yaml says of waking hours, quiet
  // windows and the reporting interval: kept only in the file, they were lost to an export.
  if (people.length > 0) {
    if (!people.includes('waking')) db.exec('ALTER TABLE people ADD COLUMN waking TEXT');
    if (!people.includes('quiet')) db.exec('ALTER TABLE people ADD COLUMN quiet TEXT');
    if (!people.includes('report_interval_ms'))
      db.exec('ALTER TABLE people ADD COLUMN report_interval_ms INTEGER');
  }
  // The session number of the last birth (protocol types.ts BD_SEQ), since session 6. Another
  // worker opening the same cloud.db may add it first.
  const edges = columnsOf(db, 'edges');
  if (edges.length > 0 && !edges.includes('bd_seq')) {
    try {
      db.exec('ALTER TABLE edges ADD COLUMN bd_seq INTEGER');
    } catch (err) {
      if (!/duplicate column name/.test((err as Error).message)) throw err;
    }
  }
  const stations = columnsOf(db, 'stations');
  if (stations.length > 0 && !stations.includes('water_body'))
    db.exec('ALTER TABLE stations ADD COLUMN water_body TEXT');
}

function columnsOf(db: Db, table: string): string[] {
  return db
    .prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)')
    .all(table)
    .map((c) => c.name);
}
