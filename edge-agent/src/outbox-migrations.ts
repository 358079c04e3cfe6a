import type Database from 'better-sqlite3';
import { ConfigError } from './config.js';

/**
 * The schema versions of outbox.db (`PRAGMA user_version`), in order; as the cloud's
 * store/cloud-migrations.ts. Version 0 is a fresh file or an outbox of the release at 4e42b96.
 * A table new in a release is created by sqlite-outbox.ts itself (IF NOT EXISTS); a change of an
 * existing table needs an entry here.
 */
export const OUTBOX_MIGRATIONS: readonly {
  version: number;
  what: string;
  up(db: Database.Database): void;
}[] = [
  {
    version: 1,
    // The epoch table is new (created on open; an outbox that sent seqs before keeps the legacy epoch).
    what: 'since 4e42b96: outbox epoch (issue 14)',
    up() {},
  },
];

export const OUTBOX_SCHEMA_VERSION = OUTBOX_MIGRATIONS.at(-1)!.version;

/** Brings outbox.db to OUTBOX_SCHEMA_VERSION; refuses one from a newer release (ConfigError, exit 2). */
export function migrateOutbox(db: Database.Database, file: string): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > OUTBOX_SCHEMA_VERSION)
    throw new ConfigError(
      `${file}: schema version ${from} is newer than this village-edge knows (${OUTBOX_SCHEMA_VERSION}): ` +
        'it was written by a newer release. Run that release, or restore an outbox backup taken before the upgrade',
    );
  if (from < OUTBOX_SCHEMA_VERSION)
    db.transaction(() => {
      for (const m of OUTBOX_MIGRATIONS) if (m.version > from) m.up(db);
      db.pragma(`user_version = ${OUTBOX_SCHEMA_VERSION}`);
    }).immediate();
  return { from, to: OUTBOX_SCHEMA_VERSION };
}
