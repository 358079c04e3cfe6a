import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, runTool, waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CLOUD_BIN, EDGE_BIN, startProc } from './harness/processes.js';
import { type Village, createVillage } from './harness/village.js';

interface Manifest {
  kind: string;
  file: string;
  schemaVersion: number;
  counts: Record<string, number>;
}

const countsOf = (file: string) => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
      )
      .all();
    return Object.fromEntries(
      tables.map((t) => [
        t.name,
        (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n,
      ]),
    );
  } finally {
    db.close();
  }
};

// Issue 17: `backup` of cloud.db and of the edge's outbox while both run and ingest; `restore` into
// a fresh folder gives the same counts, and a cloud started on the restored folder serves the data.
describe('backup and restore (built bins)', { timeout: 120_000 }, () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('backup');
    await v.startCloud();
    await v.startEdge({ devices: 50, intervalMs: 20 });
    await waitFor('readings flowing', () => v.storedCount() >= 2_000);
  });
  afterAll(() => v.cleanup());

  const cloud = (...args: string[]) => runTool(process.execPath, [CLOUD_BIN, ...args]);
  const edge = (...args: string[]) => runTool(process.execPath, [EDGE_BIN, ...args]);
  const cloudYaml = () => join(v.dir, 'cloud', 'cloud.yaml');

  it('cloud: a backup during ingest restores into a fresh folder with identical counts', async () => {
    const to = join(v.dir, 'cloud-backup');
    const before = v.storedCount();
    const backup = await cloud('backup', '--config', cloudYaml(), '--to', to);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const after = v.storedCount();
    const manifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ kind: 'village-cloud', file: 'cloud.db' });
    expect(manifest.counts.readings).toBeGreaterThanOrEqual(before);
    expect(manifest.counts.readings).toBeLessThanOrEqual(after);
    // The ingest went on: the live database grows past the snapshot.
    await waitFor('ingest after the backup', () => v.storedCount() > manifest.counts.readings!);

    const again = await cloud('backup', '--config', cloudYaml(), '--to', to);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('target_not_empty');

    const restored = join(v.dir, 'restored', 'data');
    const restore = await cloud('restore', '--from', to, '--data-dir', restored);
    expect(restore.code).toBe(0);
    expect(countsOf(join(restored, 'cloud.db'))).toEqual(manifest.counts);
    const refused = await cloud('restore', '--from', to, '--data-dir', restored);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--force');
    expect((await cloud('restore', '--from', to, '--data-dir', restored, '--force')).code).toBe(0);

    // A cloud on the restored folder starts and serves what the backup held.
    const config = parse(readFileSync(cloudYaml(), 'utf8')) as Record<string, unknown>;
    const restoredYaml = join(v.dir, 'restored', 'cloud.yaml');
    writeFileSync(
      restoredYaml,
      stringify({
        ...config,
        dataDir: './data',
        registry: join(v.dir, 'cloud', 'registry.yaml'),
        mqtt: { host: '127.0.0.1', port: await freePort() },
      }),
    );
    const second = startProc(CLOUD_BIN, ['--config', restoredYaml], join(v.dir, 'restored.log'));
    try {
      const ready = await second.line((l) => l.msg === 'cloud ready');
      const res = await fetch(`http://127.0.0.1:${ready.httpPort as number}/api/v1/devices`);
      expect(((await res.json()) as { devices: unknown[] }).devices).toHaveLength(50);
    } finally {
      await second.stop();
    }
    expect(countsOf(join(restored, 'cloud.db')).readings).toBe(manifest.counts.readings);
  });

  it('edge: the outbox is backed up while the edge runs and restored with identical counts', async () => {
    const to = join(v.dir, 'edge-backup');
    const dataDir = join(v.dir, 'edge', 'data');
    const backup = await edge('backup', '--data-dir', dataDir, '--to', to);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(to, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ kind: 'village-edge', file: 'outbox.db' });
    const restored = join(v.dir, 'edge-restored');
    expect((await edge('restore', '--from', to, '--data-dir', restored)).code).toBe(0);
    expect(countsOf(join(restored, 'outbox.db'))).toEqual(manifest.counts);
    // A cloud backup is not an edge backup.
    const wrong = await edge(
      'restore',
      '--from',
      join(v.dir, 'cloud-backup'),
      '--data-dir',
      join(v.dir, 'x'),
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('wrong_kind');
  });
});
