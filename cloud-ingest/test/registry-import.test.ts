import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Postgres, startPostgres } from '@village/test-kit';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { hashPassword } from '../src/password-hash.js';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import { CLOUD_SCHEMA_VERSION, migrateCloudDb } from '../src/store/cloud-migrations.js';
import { openDatabase } from '../src/store/open-database.js';
import { exportRegistry } from '../src/store/registry-import.js';
import { openRegistryReplica } from '../src/store/registry-replica.js';
import { createRegistrySchema } from '../src/store/registry-store.js';
import { SCOPED_REGISTRY } from './auth-cloud.js';
import { spawnBin, startBinCloud } from './http-bin-cloud.js';

/** A registry with every kind of entity and every optional field registry.yaml has. */
const REGISTRY = {
  counties: [
    {
      id: 'c1',
      name: '示例县',
      towns: [
        {
          id: 't1',
          name: '东镇',
          villages: [
            {
              id: 'v1',
              name: '甲村',
              stations: [
                { id: 's1', name: '甲村站', edges: ['edge-1', 'edge-2'], waterBody: 'lake' },
                { id: 's2', name: '甲村二站', edges: [] },
              ],
            },
          ],
        },
      ],
    },
  ],
  people: [
    {
      id: 'p1',
      name: '张三',
      station: 's1',
      wristband: 'wb-1',
      livesAlone: true,
      heartRate: [45, 110],
      spo2: [92, 100],
      waking: { from: '06:30', to: '21:30' },
      quiet: [{ from: '12:00', to: '14:00' }],
      reportIntervalMs: 60_000,
    },
    { id: 'p2', name: '李四', station: 's2', livesAlone: false },
  ],
  devices: [{ id: 'pm-1', edge: 'edge-1', kind: 'air', driver: 'modbus' }],
  users: [
    { username: 'officer-v1', name: '王五', role: 'village', place: 'v1', passwordHash: hashPassword('pw') },
  ],
};

async function bin(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const run = spawnBin(args);
  const code = await run.exit;
  return { code, out: run.stdout.join(''), err: run.stderr.join('') };
}

// Issue 17: the registry lives in cloud.db; registry.yaml is its import and export format.
describe('village-cloud registry import|export (built bin)', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-io-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'cloud.yaml'), stringify({ dataDir: './data' }));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    return { dir, config: join(dir, 'cloud.yaml'), file: join(dir, 'registry.yaml') };
  };

  it('import is idempotent, and an export imported again round-trips', async () => {
    const { dir, config, file } = setup();
    const first = await bin(['registry', 'import', file, '-c', config]);
    expect(first.err).toBe('');
    expect(JSON.parse(first.out)).toEqual({ imported: file, changed: true });
    const again = await bin(['registry', 'import', file, '-c', config]);
    expect(JSON.parse(again.out)).toEqual({ imported: file, changed: false });

    const exported = await bin(['registry', 'export', '-c', config]);
    expect(exported.code).toBe(0);
    expect(parse(exported.out)).toEqual(REGISTRY);

    writeFileSync(join(dir, 'exported.yaml'), exported.out);
    const back = await bin(['registry', 'import', join(dir, 'exported.yaml'), '-c', config]);
    expect(JSON.parse(back.out)).toEqual({ imported: join(dir, 'exported.yaml'), changed: false });
    expect(parse((await bin(['registry', 'export', '-c', config])).out)).toEqual(REGISTRY);

    // Only the first import changed anything, and the audit says so.
    const db = new Database(join(dir, 'data', 'cloud.db'), { readonly: true });
    const audit = db.prepare('SELECT action, entity, actor FROM admin_audit').all();
    db.close();
    expect(audit).toEqual([{ action: 'import', entity: 'registry', actor: expect.stringMatching(/^cli:/) }]);
  });

  it('a bad registry file is refused with exit 2, naming file and key, and changes nothing', async () => {
    const { dir, config, file } = setup();
    await bin(['registry', 'import', file, '-c', config]);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ ...REGISTRY, people: [{ id: 'p9', name: 'x', station: 'nowhere' }] }));
    const run = await bin(['registry', 'import', bad, '-c', config]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('bad.yaml');
    expect(run.err).toContain('people.0.station');
    expect(parse((await bin(['registry', 'export', '-c', config])).out)).toEqual(REGISTRY);
  });
});

// Several hosts (issue 20): the registry is the shared document in PostgreSQL; an import into one
// host's cloud.db was undone by that host's next poll of the document.
describe(
  'village-cloud registry import|export with store.kind postgres (built bin, real PostgreSQL)',
  {
    timeout: 90_000,
  },
  () => {
    let pg: Postgres;
    const dirs: string[] = [];
    beforeAll(async () => {
      pg = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      await pg?.stop();
    });

    it('import writes a new version of the shared document (once per change); export prints it; a host takes it', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'registry-pg-'));
      dirs.push(dir);
      // What store.kind postgres needs beside it (never reached here: import and export touch only PostgreSQL).
      const config = {
        dataDir: './data',
        store: { kind: 'postgres', url: pg.url },
        mqtt: {
          mode: 'external',
          url: 'mqtt://127.0.0.1:1',
          username: 'ingest',
          password: 'x',
          clientId: 'cli',
        },
        sink: { kind: 'influx', url: 'http://127.0.0.1:1', api: 'v1', database: 'village' },
      };
      writeFileSync(join(dir, 'cloud.yaml'), stringify(config));
      const file = join(dir, 'registry.yaml');
      writeFileSync(file, stringify(REGISTRY));
      const cfg = join(dir, 'cloud.yaml');
      const store = await openPostgresSharedStore({ url: pg.url });
      try {
        const first = await bin(['registry', 'import', file, '-c', cfg]);
        expect(first.err).toBe('');
        expect(JSON.parse(first.out)).toEqual({ imported: file, changed: true, version: 1 });
        const again = JSON.parse((await bin(['registry', 'import', file, '-c', cfg])).out);
        expect(again).toEqual({ imported: file, changed: false, version: 1 });
        expect(parse((await bin(['registry', 'export', '-c', cfg])).out)).toEqual(REGISTRY);
        // A file without users keeps the officers the document has.
        const noUsers = join(dir, 'no-users.yaml');
        writeFileSync(noUsers, stringify({ ...REGISTRY, users: undefined, devices: [] }));
        expect(JSON.parse((await bin(['registry', 'import', noUsers, '-c', cfg])).out).version).toBe(2);
        const shared = await store.registry.read();
        expect(shared?.version).toBe(2);
        expect(shared?.doc.devices).toEqual([]);
        expect(shared?.doc.users?.map((u) => u.username)).toEqual(['officer-v1']);
        // A host's copy: what its start (or its next poll) imports into its cloud.db.
        const db = openDatabase(join(dir, 'host'));
        migrateCloudDb(db, 'cloud.db');
        createRegistrySchema(db);
        const replica = await openRegistryReplica({
          db,
          store: store.registry,
          file: EMPTY_REGISTRY,
          fileImportedAtStart: false,
          credentialEdges: [],
          onImported: async () => {},
          pollMs: 60_000,
          log: pino({ level: 'silent' }),
          metricsRegistry: new Registry(),
          now: Date.now,
        });
        expect(replica.version).toBe(2);
        expect(exportRegistry(db).counties[0]?.towns[0]?.villages[0]?.id).toBe('v1');
        replica.close();
        db.close();
      } finally {
        await store.close();
      }
    });
  },
);

// Schema version 2: a cloud.db of version 1 (people without waking, quiet, report interval)
// migrates and keeps its people.
describe('cloud.db version 1 → 2', () => {
  it('adds the registry columns and tables and keeps the people', () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-v1-'));
    try {
      mkdirSync(dir, { recursive: true });
      const db = new Database(join(dir, 'cloud.db'));
      db.exec(`
        CREATE TABLE counties (id TEXT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE towns (id TEXT PRIMARY KEY, county TEXT NOT NULL, name TEXT NOT NULL);
        CREATE TABLE villages (id TEXT PRIMARY KEY, town TEXT NOT NULL, name TEXT NOT NULL);
        CREATE TABLE stations (id TEXT PRIMARY KEY, village TEXT NOT NULL, name TEXT NOT NULL, water_body TEXT);
        CREATE TABLE edges (id TEXT PRIMARY KEY, station TEXT, online INTEGER NOT NULL DEFAULT 0, boot INTEGER,
          last_birth_ts INTEGER, last_seen INTEGER, version TEXT);
        CREATE TABLE devices (id TEXT PRIMARY KEY, kind TEXT NOT NULL, driver TEXT NOT NULL, edge TEXT,
          metrics TEXT NOT NULL DEFAULT '[]', source TEXT NOT NULL, last_seen INTEGER);
        CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT NOT NULL, station TEXT NOT NULL, wristband TEXT,
          lives_alone INTEGER NOT NULL, heart_rate_min REAL, heart_rate_max REAL, spo2_min REAL, spo2_max REAL);
        INSERT INTO counties VALUES ('c1', 'C'); INSERT INTO towns VALUES ('t1', 'c1', 'T');
        INSERT INTO villages VALUES ('v1', 't1', 'V'); INSERT INTO stations VALUES ('s1', 'v1', 'S', NULL);
        INSERT INTO people VALUES ('p1', '张三', 's1', 'wb-1', 1, 40, 120, 90, 100);
      `);
      db.pragma('user_version = 1');
      expect(migrateCloudDb(db, 'cloud.db')).toEqual({ from: 1, to: CLOUD_SCHEMA_VERSION });
      expect(exportRegistry(db).people).toEqual([
        {
          id: 'p1',
          name: '张三',
          station: 's1',
          wristband: 'wb-1',
          livesAlone: true,
          heartRate: [40, 120],
          spo2: [90, 100],
        },
      ]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The store is the registry: a restart keeps what an admin changed, and an edited registry.yaml
// (a different file) is still imported at the next start.
describe('registry across restarts (built bin)', { timeout: 90_000 }, () => {
  it('keeps API changes when registry.yaml is unchanged, and imports a changed file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-restart-'));
    try {
      let t = await startBinCloud({ dir });
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${t.base}${path}`, {
          method: 'POST',
          headers: { cookie: await t.cookie('admin'), 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return res.status;
      };
      const villages = async () => {
        const res = await fetch(`${t.base}/api/v1/admin/villages`, {
          headers: { cookie: await t.cookie('admin') },
        });
        return ((await res.json()) as { villages: { id: string }[] }).villages.map((v) => v.id);
      };
      expect(await post('/api/v1/admin/villages', { id: 'vR', town: 't1', name: '留村' })).toBe(201);
      await t.stop();

      t = await startBinCloud({ dir });
      expect(await villages()).toEqual(['vA', 'vB', 'vC', 'vR']);
      await t.stop();

      // The edited file keeps the officers' places and adds a village: vR, only in the store, goes.
      const edited = structuredClone(SCOPED_REGISTRY);
      edited.counties[0]!.towns[1]!.villages.push({ id: 'vE', name: '新增村', stations: [] } as never);
      writeFileSync(join(dir, 'edited.yaml'), stringify(edited));
      t = await startBinCloud({ dir, extra: { registry: './edited.yaml' } });
      expect(await villages()).toEqual(['vA', 'vB', 'vC', 'vE']);
      await t.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
