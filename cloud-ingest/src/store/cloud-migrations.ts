import { ConfigError } from '@village/service-kit';
import { openCommandStore } from './command-store.js';
import type { Db } from './open-database.js';
import { createRegistrySchema } from './registry-store.js';
import { createSeqState } from './seq-state.js';

/**
 * The schema versions of cloud.db (`PRAGMA user_version`), in order. Version 0 is a database from
 * before versioning: a fresh file, or one of the release at 4e42b96. Each entry brings a database
 * of the version before it to its own version; a start applies the missing ones in one transaction.
 * A table new in a release needs no entry (its module creates it, CREATE TABLE IF NOT EXISTS); a
 * change of an existing table does. Each table's DDL stays in its module (one source of truth), so
 * an entry may call the module's own idempotent upgrade.
 */
export const CLOUD_MIGRATIONS: readonly { version: number; what: string; up(db: Db): void }[] = [
  {
    version: 1,
    what: 'since 4e42b96: seq state per epoch (issue 14), commands.actor (issue 13)',
    up(db) {
      createSeqState(db);
      openCommandStore(db);
    },
  },
  {
    version: 2,
    what: 'registry in the store (issue 17): people.waking/quiet/report_interval_ms, users, edge credentials, admin audit',
    up(db) {
      createRegistrySchema(db);
    },
  },
  {
    version: 3,
    what: "commands.error_code: the driver's error code kept end to end (issue 18)",
    up(db) {
      openCommandStore(db);
    },
  },
];

export const CLOUD_SCHEMA_VERSION = CLOUD_MIGRATIONS.at(-1)!.version;

/** The schema version of cloud.db; throws ConfigError when newer than this code (also for `--check`, read-only). */
export function checkCloudSchema(db: Db, file: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > CLOUD_SCHEMA_VERSION)
    throw new ConfigError(
      `${file}: schema version ${version} is newer than this village-cloud knows (${CLOUD_SCHEMA_VERSION}): ` +
        'it was written by a newer release. Run that release, or restore a backup taken before the upgrade',
    );
  return version;
}

/**
 * Brings cloud.db to CLOUD_SCHEMA_VERSION, or refuses (ConfigError, exit 2) one written by a newer
 * release: its tables may mean something this code does not know, and a write could corrupt them.
 */
export function migrateCloudDb(db: Db, file: string): { from: number; to: number } {
  const from = checkCloudSchema(db, file);
  if (from === CLOUD_SCHEMA_VERSION) return { from, to: from };
  db.transaction(() => {
    for (const m of CLOUD_MIGRATIONS) if (m.version > from) m.up(db);
    db.pragma(`user_version = ${CLOUD_SCHEMA_VERSION}`);
  }).immediate();
  return { from, to: CLOUD_SCHEMA_VERSION };
}
