import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, encodeBatch, topics } from '@village/protocol';
import {
  type Influxd,
  type Mosquitto,
  type Postgres,
  startInfluxd,
  startMosquitto,
  startPostgres,
  waitFor,
} from '@village/test-kit';
import { Encoder } from 'cbor-x';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { loadConfig, parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { PASSWORDS, REGISTRY, T0, collectAcks, counterValue, makeBatch } from './cloud-fixture.js';
import { spawnBin } from './http-bin-cloud.js';

const INGEST_PASSWORD = 'pw-ingest-migrate';
const ADMIN_PASSWORD = 'admin-password';
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/**
 * From one host to several (`village-cloud store migrate`, built bin): a single-host cloud
 * (SQLite, embedded broker, real influxd) made sessions, an API token, an admin's registry change,
 * a learned device, dead letters and committed seqs; stopped, its cloud.db is migrated into a
 * real, empty PostgreSQL; a host on `store.kind: postgres` (its own new folder, the same
 * registry.yaml, a real Mosquitto) then has all of it. A second migrate is refused (exit 2).
 */
describe('village-cloud store migrate: one host to PostgreSQL', { timeout: 180_000 }, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let mosquitto: Mosquitto;
  let root: string;
  let oneHost: RunningCloud | undefined;
  let pgHost: RunningCloud | undefined;
  const clients: MqttClient[] = [];
  const users = [
    { username: 'admin', passwordHash: hashPassword(ADMIN_PASSWORD), role: 'admin', name: '管理员' },
  ];
  const sink = () => ({ kind: 'influx', url: influxd.url, api: 'v1', database: 'village' });
  beforeAll(async () => {
    [postgres, influxd, mosquitto] = await Promise.all([
      startPostgres(),
      startInfluxd(['village']),
      startMosquitto({ ingest: INGEST_PASSWORD, ...PASSWORDS }),
    ]);
    root = mkdtempSync(join(tmpdir(), 'store-migrate-'));
    process.env.TEST_MIGRATE_INGEST_PASSWORD = INGEST_PASSWORD;
    for (const d of ['one', 'pg']) {
      mkdirSync(join(root, d));
      writeFileSync(join(root, d, 'registry.yaml'), stringify(REGISTRY));
    }
    writeFileSync(
      join(root, 'pg', 'cloud.yaml'),
      stringify({
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: {
          mode: 'external',
          url: mosquitto.ingestUrl,
          username: 'ingest',
          password: '${TEST_MIGRATE_INGEST_PASSWORD}',
          clientId: 'pg-host',
        },
        sink: sink(),
        store: { kind: 'postgres', url: postgres.url },
        http: { port: 0 },
        rules: { enabled: false },
        users,
        log: { level: 'silent' },
      }),
    );
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await oneHost?.close();
    await pgHost?.close();
    await mosquitto?.dispose();
    await influxd?.dispose();
    await postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const call = async (
    cloud: RunningCloud,
    method: string,
    path: string,
    o: { cookie?: string; bearer?: string; body?: unknown } = {},
  ) => {
    const res = await fetch(`http://127.0.0.1:${cloud.httpPort}${path}`, {
      method,
      headers: {
        ...(o.cookie ? { cookie: o.cookie } : {}),
        ...(o.bearer ? { authorization: `Bearer ${o.bearer}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };
  const edge = async (url: string, id: string) => {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: id,
      username: id,
      password: PASSWORDS[id],
      reconnectPeriod: 0,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return { client, acks: await collectAcks(client, id) };
  };
  /** A batch of `learn-1` and pm-1 readings; resolves with its ack. */
  const send = async (
    e: { client: MqttClient; acks: Ack[] },
    id: string,
    seq: number,
    bytes?: Uint8Array,
  ) => {
    const batch = makeBatch(id, seq, 2, {}, T0 + seq * 60_000);
    batch.readings.push({ ...batch.readings[0]!, device: 'learn-1' });
    await e.client.publishAsync(topics.batch(id), Buffer.from(bytes ?? encodeBatch(batch)), { qos: 1 });
    return waitFor(`the ack of ${id}'s seq ${seq}`, () =>
      e.acks.find((a) => a.acked.includes(seq) || a.rejected.some((r) => r.seq === seq)),
    );
  };

  let cookie: string;
  let token: string;
  it('the one host makes sessions, a token, a registry change, a learned device, a dead letter and commits', async () => {
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: { port: 0 },
        sink: sink(),
        http: { port: 0 },
        rules: { enabled: false },
        edges: Object.entries(PASSWORDS).map(([id, pw]) => ({ id, passwordHash: hashPassword(pw) })),
        users,
        log: { level: 'silent' },
      },
      join(root, 'one'),
    );
    oneHost = await startCloud(config, pino({ level: 'silent' }));
    const login = await call(oneHost, 'POST', '/api/v1/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(login.status).toBe(200);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const issued = await call(oneHost, 'POST', '/api/v1/tokens', {
      cookie,
      body: { name: 'grafana', role: 'admin', access: 'read' },
    });
    expect(issued.status).toBe(201);
    token = issued.body.token as string;
    expect(
      (
        await call(oneHost, 'POST', '/api/v1/admin/villages', {
          cookie,
          body: { id: 'v9', town: 't1', name: '新村' },
        })
      ).status,
    ).toBe(201);
    const e1 = await edge(`mqtt://127.0.0.1:${oneHost.mqttPort}`, 'edge-1');
    for (const seq of [1, 2]) expect((await send(e1, 'edge-1', seq)).refused ?? []).toEqual([]);
    // A batch that does not decode: a dead letter (bad_type: `rt` holds a string).
    const bad = cbor.encode({
      v: 1,
      e: 'edge-1',
      s: 3,
      b: 1,
      c: T0,
      h: false,
      d: ['pm-1'],
      m: ['pm25'],
      u: ['ug'],
      k: [0, 0, 0],
      t0: T0,
      rs: [0],
      rt: ['soon'],
      rx: [1],
      rp: [0],
    });
    expect((await send(e1, 'edge-1', 3, bad)).rejected.map((r) => r.seq)).toEqual([3]);
    await e1.client.endAsync(true);
    await oneHost.close();
    oneHost = undefined;
  });

  it('migrates into the empty store; a postgres host then has every bit of it; a second migrate is refused', async () => {
    const run = spawnBin([
      'store',
      'migrate',
      '--config',
      join(root, 'pg', 'cloud.yaml'),
      '--from',
      join(root, 'one', 'data'),
    ]);
    expect(await run.exit).toBe(0);
    const out = JSON.parse(run.stdout.join('')) as { copied: Record<string, number> };
    expect(out.copied).toMatchObject({
      shared_sessions: 1,
      shared_api_tokens: 1,
      shared_dead_letters: 1,
      edge_seq_state: 1,
      shared_device_owners_learned: 1,
    });
    expect(out.copied.influx_series).toBeGreaterThanOrEqual(2);

    pgHost = await startCloud(loadConfig(join(root, 'pg', 'cloud.yaml')), pino({ level: 'silent' }));
    // The officer's session and the API token of the one host.
    expect((await call(pgHost, 'GET', '/api/v1/me', { cookie })).status).toBe(200);
    expect((await call(pgHost, 'GET', '/api/v1/tokens', { bearer: token })).status).toBe(200);
    // The admin's change (not in registry.yaml): the migrated document won over the same file.
    expect((await call(pgHost, 'GET', '/api/v1/admin/villages/v9', { cookie })).status).toBe(200);
    // The dead letter, listed and readable here.
    const letters = await call(pgHost, 'GET', '/api/v1/dead-letters?state=open', { cookie });
    expect((letters.body.deadLetters as { edge: string; seq: number }[]).map((l) => [l.edge, l.seq])).toEqual(
      [['edge-1', 3]],
    );
    // The series catalog: the history answers what the one host wrote.
    const series = await call(pgHost, 'GET', '/api/v1/latest?device=learn-1', { cookie });
    expect(series.status).toBe(200);
    expect((series.body.latest as unknown[]).length).toBe(1);
    // The dedupe: seq 2 again is a duplicate (acked, not written again), seq 4 is new.
    const e1 = await edge(mosquitto.url, 'edge-1');
    expect((await send(e1, 'edge-1', 2)).acked).toEqual([2]);
    expect(await counterValue(pgHost.metrics.batches, { result: 'duplicate' })).toBe(1);
    expect((await send(e1, 'edge-1', 4)).acked).toEqual([4]);
    expect(await counterValue(pgHost.metrics.batches, { result: 'committed' })).toBe(1);
    // The learned device stays edge-1's: edge-2's points of it are refused.
    const e2 = await edge(mosquitto.url, 'edge-2');
    expect((await send(e2, 'edge-2', 1)).refused?.map((r) => r.device).sort()).toEqual(['learn-1', 'pm-1']);

    const again = spawnBin([
      'store',
      'migrate',
      '--config',
      join(root, 'pg', 'cloud.yaml'),
      '--from',
      join(root, 'one', 'data'),
    ]);
    expect(await again.exit).toBe(2);
    expect(again.stderr.join('')).toContain('store_not_empty');
  });

  it('a folder without cloud.db, or a config without store.kind postgres: exit 2 naming what is wrong', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const noDb = spawnBin(['store', 'migrate', '--config', join(root, 'pg', 'cloud.yaml'), '--from', empty]);
    expect(await noDb.exit).toBe(2);
    expect(noDb.stderr.join('')).toContain(`no_cloud_db: ${join(empty, 'cloud.db')}`);
    writeFileSync(
      join(root, 'one', 'cloud.yaml'),
      stringify({
        dataDir: './data',
        registry: './registry.yaml',
        http: { port: 0 },
        log: { level: 'silent' },
      }),
    );
    const sqlite = spawnBin([
      'store',
      'migrate',
      '--config',
      join(root, 'one', 'cloud.yaml'),
      '--from',
      empty,
    ]);
    expect(await sqlite.exit).toBe(2);
    expect(sqlite.stderr.join('')).toContain(
      'cloud.yaml: store.kind: must be postgres to migrate into (it is sqlite)',
    );
  });
});
