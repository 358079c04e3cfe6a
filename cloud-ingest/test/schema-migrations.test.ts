import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_SCHEMA_VERSION } from '../src/store/cloud-migrations.js';
import { logLines, spawnBin, startBinCloud, writeCloudConfig } from './http-bin-cloud.js';

const OLD_DDL = readFileSync(join(import.meta.dirname, 'fixtures', 'cloud-db-4e42b96.sql'), 'utf8');
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

/** `<dir>/data/cloud.db` as the release at 4e42b96 left it, with a command, seq state and a reading. */
function oldDatabase(dir: string): void {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const db = new Database(join(dir, 'data', 'cloud.db'));
  db.pragma('journal_mode = WAL');
  db.exec(OLD_DDL);
  db.prepare(
    `INSERT INTO commands (id, edge, device, action, params, created_at, expires_at, state)
     VALUES ('cmd-old', 'edge-a', 'siren-a', 'on', '{}', ?, ?, 'sent')`,
  ).run(T0, T0 + 60_000);
  db.prepare("INSERT INTO edge_seq_state (edge, high_water) VALUES ('edge-a', 41)").run();
  db.prepare("INSERT INTO edge_seq_above (edge, seq) VALUES ('edge-a', 43)").run();
  db.prepare(
    `INSERT INTO series (id, device, metric, unit, village, value_type) VALUES (1, 'pm-a', 'pm25', 'µg/m³', 'vA', 'number')`,
  ).run();
  db.prepare('INSERT INTO readings (series_id, ts, value, quality, historical) VALUES (1, ?, 17, 0, 0)').run(
    T0,
  );
  db.prepare('INSERT INTO latest (series_id, ts, value, quality) VALUES (1, ?, 17, 0)').run(T0);
  db.close();
}

// Issue 17: cloud.db carries a schema version; a database of the previous release migrates at
// start and keeps its data; one from a newer release is refused with exit 2.
describe('cloud.db schema version (built bin)', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cloud-schema-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a database of the 4e42b96 schema migrates and keeps its commands, seq state and readings', async () => {
    const dir = tempDir();
    oldDatabase(dir);
    const t = await startBinCloud({ dir });
    try {
      expect(t.logs()).toContainEqual(
        expect.objectContaining({ msg: 'cloud.db migrated to the current schema version', from: 0 }),
      );
      const admin = await t.cookie('admin');
      const cmd = await fetch(`${t.base}/api/v1/commands/cmd-old`, { headers: { cookie: admin } });
      expect(cmd.status).toBe(200);
      expect(((await cmd.json()) as { command: { actor: string; device: string } }).command).toMatchObject({
        device: 'siren-a',
        actor: '',
      });
      const latest = (await (
        await fetch(`${t.base}/api/v1/latest`, { headers: { cookie: admin } })
      ).json()) as {
        latest: { device: string; value: number }[];
      };
      expect(latest.latest).toEqual([expect.objectContaining({ device: 'pm-a', value: 17 })]);
    } finally {
      await t.stop();
    }
    const db = new Database(join(dir, 'data', 'cloud.db'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(CLOUD_SCHEMA_VERSION);
      expect(db.prepare('SELECT edge, epoch, high_water FROM edge_seq_state').all()).toEqual([
        { edge: 'edge-a', epoch: '', high_water: 41 },
      ]);
      expect(db.prepare('SELECT seq FROM edge_seq_above').all()).toEqual([{ seq: 43 }]);
      expect(db.prepare('SELECT COUNT(*) AS n FROM readings').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('refuses a database from a newer release: exit 2 naming both versions, the file untouched', async () => {
    const dir = tempDir();
    oldDatabase(dir);
    const db = new Database(join(dir, 'data', 'cloud.db'));
    db.pragma(`user_version = ${CLOUD_SCHEMA_VERSION + 5}`);
    db.close();
    const check = spawnBin(['--config', writeCloudConfig(dir), '--check']);
    expect(await check.exit).toBe(2);
    expect(check.stderr.join('')).toContain(`schema version ${CLOUD_SCHEMA_VERSION + 5} is newer`);
    const run = spawnBin(['--config', writeCloudConfig(dir)]);
    expect(await run.exit).toBe(2);
    expect(run.stderr.join('')).toContain(
      `schema version ${CLOUD_SCHEMA_VERSION + 5} is newer than this village-cloud knows (${CLOUD_SCHEMA_VERSION})`,
    );
    expect(logLines(run).some((l) => l.msg === 'cloud ready')).toBe(false);
    const after = new Database(join(dir, 'data', 'cloud.db'), { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(CLOUD_SCHEMA_VERSION + 5);
      expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'api_tokens'").get()).toBeUndefined();
    } finally {
      after.close();
    }
  });

  it('a fresh database gets the current version', async () => {
    const dir = tempDir();
    const t = await startBinCloud({ dir });
    await t.stop();
    const db = new Database(join(dir, 'data', 'cloud.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(CLOUD_SCHEMA_VERSION);
    db.close();
  });
});
