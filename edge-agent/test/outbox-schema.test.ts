import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEGACY_EPOCH } from '@village/protocol';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { OUTBOX_SCHEMA_VERSION } from '../src/outbox-migrations.js';
import { openSqliteOutbox } from '../src/sqlite-outbox.js';

const OLD_DDL = readFileSync(join(import.meta.dirname, 'fixtures', 'outbox-db-4e42b96.sql'), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'outbox-schema-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 0, 1);
const open = (path: string) =>
  openSqliteOutbox({
    path,
    edgeId: 'edge-1',
    quotaBytes: 1 << 30,
    groupCommitMs: 0,
    synchronous: 'normal',
    eventReserveBytes: 0,
    now: () => T0,
  });

/** An outbox of the 4e42b96 schema holding three readings not yet sent. */
function oldOutbox(name: string): string {
  mkdirSync(join(root, name));
  const path = join(root, name, 'outbox.db');
  const db = new Database(path);
  db.exec(OLD_DDL);
  const insert = db.prepare(
    "INSERT INTO pending (device, metric, unit, ts, value, vtype, quality, accepted_at) VALUES ('d', 'm', '', ?, 1, 0, 0, ?)",
  );
  for (let i = 0; i < 3; i++) insert.run(T0 + i, T0);
  db.prepare("UPDATE meta SET value = 7 WHERE key = 'last_seq'").run();
  db.close();
  return path;
}

// Issue 17: outbox.db carries a schema version; the previous release's outbox migrates and keeps
// its unsent readings; one from a newer release is refused (ConfigError: the bin exits 2).
describe('outbox.db schema version', () => {
  it('an outbox of the 4e42b96 schema opens at the current version with its readings and the legacy epoch', async () => {
    const path = oldOutbox('old');
    const o = open(path);
    expect(o.stats().pendingReadings).toBe(3);
    expect(o.epoch).toBe(LEGACY_EPOCH);
    await o.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(OUTBOX_SCHEMA_VERSION);
    db.close();
  });

  it('refuses an outbox from a newer release, naming both versions, and leaves it as it was', () => {
    const path = oldOutbox('newer');
    const db = new Database(path);
    db.pragma(`user_version = ${OUTBOX_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => open(path)).toThrow(ConfigError);
    expect(() => open(path)).toThrow(
      `schema version ${OUTBOX_SCHEMA_VERSION + 1} is newer than this village-edge knows (${OUTBOX_SCHEMA_VERSION})`,
    );
    const after = new Database(path, { readonly: true });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'epoch'").get()).toBeUndefined();
    after.close();
  });
});
