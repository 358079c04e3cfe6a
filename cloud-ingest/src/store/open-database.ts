import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** File name of the cloud database inside dataDir (the e2e tests open it read-only). */
export const CLOUD_DB_FILE = 'cloud.db';

/**
 * Opens `<dataDir>/cloud.db` in WAL mode. synchronous=FULL: the cloud's ack tells the edge it may
 * delete its copy, so a committed batch must survive a power cut, not just a process crash
 * (WAL + NORMAL may lose the last commits on power loss, and then the batch would be gone on both
 * sides). Batches of thousands of readings per transaction keep the fsync cost per reading small.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, CLOUD_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  // Readers (API, e2e tests) never block the ingest for long; wait rather than fail with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  return db;
}
