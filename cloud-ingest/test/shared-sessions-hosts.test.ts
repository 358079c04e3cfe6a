import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Influxd,
  type Mosquitto,
  type Postgres,
  startInfluxd,
  startMosquitto,
  startPostgres,
  waitFor,
} from '@village/test-kit';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { REGISTRY } from './cloud-fixture.js';
import { openStream } from './open-stream.js';

const INGEST_PASSWORD = 'pw-ingest-sessions';
const PASSWORDS = { admin: 'admin-password', clerk: 'clerk-password', warden: 'warden-password' } as const;

/**
 * Two real ingest hosts (each its own cloud.db, started in process by startCloud) with
 * `store.kind: postgres` on one real PostgreSQL, behind a real Mosquitto, writing to a real
 * influxd, as behind the county's reverse proxy: an officer's next request reaches the other host.
 * A login, logout, password reset, API token issued or revoked on host A holds on host B; so does
 * an admin's change of the registry (the shared registry, store/registry-replica.ts), within the
 * poll (store.registryPollMs, 1 s by default).
 */
describe('sessions and API tokens across two hosts on PostgreSQL', { timeout: 120_000 }, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let mosquitto: Mosquitto;
  let root: string;
  const hosts: RunningCloud[] = [];
  /** registry.yaml, the same file on every host. */
  let registryYaml: string;
  const users = [
    { username: 'admin', passwordHash: hashPassword(PASSWORDS.admin), role: 'admin', name: '管理员' },
  ];
  /** Starts host `name` on its own folder (kept across its restarts) with its own copy of registry.yaml. */
  const startHost = async (name: string) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'registry.yaml'), registryYaml);
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: {
          mode: 'external',
          url: mosquitto.ingestUrl,
          username: 'ingest',
          password: '${TEST_SESSIONS_INGEST_PASSWORD}',
          clientId: name,
        },
        sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' },
        store: { kind: 'postgres', url: postgres.url },
        http: { port: 0 },
        rules: { enabled: false }, // not this test's concern (docs/rules-across-hosts.md)
        users,
        log: { level: 'silent' },
      },
      dir,
    );
    return startCloud(config, pino({ level: process.env.TEST_LOG ?? 'silent' }));
  };
  beforeAll(async () => {
    [postgres, influxd, mosquitto] = await Promise.all([
      startPostgres(),
      startInfluxd(['village']),
      startMosquitto({ ingest: INGEST_PASSWORD }),
    ]);
    root = mkdtempSync(join(tmpdir(), 'shared-sessions-hosts-'));
    process.env.TEST_SESSIONS_INGEST_PASSWORD = INGEST_PASSWORD;
    // Each host imports its own copy of one registry.yaml; clerk is a store user (a reset ends its sessions).
    registryYaml = stringify({
      ...REGISTRY,
      users: [
        {
          username: 'clerk',
          passwordHash: hashPassword(PASSWORDS.clerk),
          role: 'village',
          place: 'v1',
          name: '村文书',
        },
        // Its password is reset through one host's admin API (the shared registry, below).
        {
          username: 'warden',
          passwordHash: hashPassword(PASSWORDS.warden),
          role: 'village',
          place: 'v1',
          name: '护林员',
        },
      ],
    });
    for (const name of ['host-a', 'host-b']) hosts.push(await startHost(name));
  }, 90_000);
  afterAll(async () => {
    for (const h of hosts) await h.close();
    await mosquitto?.dispose();
    await influxd?.dispose();
    await postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const base = (h: number) => `http://127.0.0.1:${hosts[h]!.httpPort}`;
  const call = async (
    h: number,
    method: string,
    path: string,
    o: { cookie?: string; bearer?: string; body?: unknown } = {},
  ) => {
    const res = await fetch(`${base(h)}${path}`, {
      method,
      headers: {
        ...(o.cookie ? { cookie: o.cookie } : {}),
        ...(o.bearer ? { authorization: `Bearer ${o.bearer}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Logs in on host `h`; returns the session cookie (`village_session=…`). */
  const login = async (h: number, who: keyof typeof PASSWORDS) => {
    const res = await fetch(`${base(h)}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: who, password: PASSWORDS[who] }),
    });
    expect(res.status).toBe(200);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };
  const A = 0;
  const B = 1;
  /** The status of a login of `username` with `password` on host `h`. */
  const loginStatus = async (h: number, username: string, password: string) =>
    (
      await fetch(`${base(h)}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
    ).status;
  /** Bound of a change made on one host reaching the other: the 1 s poll, with room for a slow box. */
  const POLL_BOUND = { timeoutMs: 6_000, intervalMs: 50 };

  it('a login on A is a session on B; a logout on A ends it, and its live stream, on B; only its hash is at rest', async () => {
    const cookie = await login(A, 'admin');
    const other = await login(B, 'admin');
    const [stream, otherStream] = [await openStream(base(B), cookie), await openStream(base(B), other)];
    expect(await call(B, 'GET', '/api/v1/me', { cookie })).toMatchObject({
      status: 200,
      body: { user: { username: 'admin' } },
    });
    const token = cookie.slice(cookie.indexOf('=') + 1);
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ token_hash: string }>(
        'SELECT token_hash FROM shared_sessions WHERE username = $1',
        ['admin'],
      );
      expect(rows.map((r) => r.token_hash)).toContain(createHash('sha256').update(token).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(token);
    } finally {
      await client.end();
    }
    expect((await call(A, 'POST', '/api/v1/logout', { cookie })).status).toBe(200);
    expect(await call(B, 'GET', '/api/v1/me', { cookie })).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthenticated' } },
    });
    expect((await call(A, 'GET', '/api/v1/me', { cookie })).status).toBe(401);
    // B's stream of that session ends at its next session check (every 2 s); the other stays.
    await waitFor('the logged-out session’s stream on B to end', () => stream.isDone(), { timeoutMs: 8_000 });
    expect(otherStream.isDone()).toBe(false);
    await otherStream.cancel();
  });

  it("a password reset on A ends the user's sessions on B too", async () => {
    const onB = await login(B, 'clerk');
    const onA = await login(A, 'clerk');
    expect((await call(B, 'GET', '/api/v1/me', { cookie: onB })).status).toBe(200);
    const admin = await login(A, 'admin');
    const reset = await call(A, 'PUT', '/api/v1/admin/users/clerk/password', {
      cookie: admin,
      body: { password: 'a-new-clerk-password' },
    });
    expect(reset.status).toBe(200);
    for (const cookie of [onB, onA]) {
      expect((await call(B, 'GET', '/api/v1/me', { cookie })).status).toBe(401);
      expect((await call(A, 'GET', '/api/v1/me', { cookie })).status).toBe(401);
    }
    // The admin's own session, on either host, is not the clerk's.
    expect((await call(B, 'GET', '/api/v1/me', { cookie: admin })).status).toBe(200);
  });

  it('an API token issued on A verifies on B; revoked on A, it is refused on B', async () => {
    const admin = await login(A, 'admin');
    const issued = await call(A, 'POST', '/api/v1/tokens', {
      cookie: admin,
      body: { name: 'grafana', role: 'admin', access: 'read' },
    });
    expect(issued.status).toBe(201);
    const secret = issued.body.token as string;
    const onB = await call(B, 'GET', '/api/v1/tokens', { bearer: secret });
    expect(onB.status).toBe(200);
    expect((onB.body.tokens as { id: string }[]).map((t) => t.id)).toContain(issued.body.id);
    expect(
      (await call(A, 'DELETE', `/api/v1/tokens/${issued.body.id as string}`, { cookie: admin })).status,
    ).toBe(200);
    expect(await call(B, 'GET', '/api/v1/tokens', { bearer: secret })).toMatchObject({
      status: 401,
      body: { error: { code: 'bad_token' } },
    });
    expect((await call(A, 'GET', '/api/v1/tokens', { bearer: secret })).status).toBe(401);
  });

  it('a password reset through A: the old password is refused on B within the poll, the new one logs in there', async () => {
    expect(await loginStatus(B, 'warden', PASSWORDS.warden)).toBe(200);
    const admin = await login(A, 'admin');
    const reset = await call(A, 'PUT', '/api/v1/admin/users/warden/password', {
      cookie: admin,
      body: { password: 'warden-new-password' },
    });
    expect(reset.status).toBe(200);
    await waitFor(
      'the new password to log in on B',
      async () => (await loginStatus(B, 'warden', 'warden-new-password')) === 200,
      POLL_BOUND,
    );
    expect(await loginStatus(B, 'warden', PASSWORDS.warden)).toBe(401);
    expect(await loginStatus(A, 'warden', PASSWORDS.warden)).toBe(401);
    expect(await loginStatus(A, 'warden', 'warden-new-password')).toBe(200);
  });

  it('an officer added through A logs in on B; removed through B, refused on A', async () => {
    const admin = await login(A, 'admin');
    const added = await call(A, 'POST', '/api/v1/admin/users', {
      cookie: admin,
      body: { id: 'reader', name: '读报员', role: 'village', place: 'v1', password: 'reader-password' },
    });
    expect(added.status).toBe(201);
    await waitFor(
      'the added officer to log in on B',
      async () => (await loginStatus(B, 'reader', 'reader-password')) === 200,
      POLL_BOUND,
    );
    const onA = await fetch(`${base(A)}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader', password: 'reader-password' }),
    });
    const readerCookie = onA.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call(B, 'DELETE', '/api/v1/admin/users/reader', { cookie: admin })).status).toBe(200);
    await waitFor(
      'the removed officer to be refused on A',
      async () => (await loginStatus(A, 'reader', 'reader-password')) === 401,
      POLL_BOUND,
    );
    expect(await loginStatus(B, 'reader', 'reader-password')).toBe(401);
    expect((await call(A, 'GET', '/api/v1/me', { cookie: readerCookie })).status).toBe(401);
  });

  it('two admin changes at once, one through A and one through B: both hold, on both hosts', async () => {
    const admin = await login(A, 'admin');
    const [village, station] = await Promise.all([
      call(A, 'POST', '/api/v1/admin/villages', {
        cookie: admin,
        body: { id: 'v9', town: 't1', name: '新村' },
      }),
      call(B, 'POST', '/api/v1/admin/stations', {
        cookie: admin,
        body: { id: 's9', village: 'v1', name: '新站' },
      }),
    ]);
    expect([village.status, station.status]).toEqual([201, 201]);
    const ids = async (h: number, plural: string) =>
      (
        (await call(h, 'GET', `/api/v1/admin/${plural}`, { cookie: admin })).body[plural] as { id: string }[]
      ).map((e) => e.id);
    for (const h of [A, B] as const) {
      await waitFor(
        `host ${h === A ? 'A' : 'B'} to hold both changes`,
        async () => (await ids(h, 'villages')).includes('v9') && (await ids(h, 'stations')).includes('s9'),
        POLL_BOUND,
      );
    }
    // And the places officers are scoped to agree: v9 is a place on B, made through A.
    expect((await call(B, 'GET', '/api/v1/admin/villages/v9', { cookie: admin })).status).toBe(200);
  });

  it('a host restarting with its unchanged registry.yaml, and a new host with the same file, take the shared registry, not the file', async () => {
    // warden's password was reset through A (above); every copy of registry.yaml has the old one.
    await hosts[B]!.close();
    hosts[B] = await startHost('host-b');
    hosts.push(await startHost('host-c'));
    const C = 2;
    for (const h of [B, C]) {
      expect(await loginStatus(h, 'warden', 'warden-new-password')).toBe(200);
      expect(await loginStatus(h, 'warden', PASSWORDS.warden)).toBe(401);
    }
    // Nor did their start roll the registry back for the others.
    expect(await loginStatus(A, 'warden', PASSWORDS.warden)).toBe(401);
    expect(
      (await call(C, 'GET', '/api/v1/admin/villages/v9', { cookie: await login(C, 'admin') })).status,
    ).toBe(200);
  });

  it('PostgreSQL away: a live session is refused with 503 store_unavailable (never let through), and works once it is back', async () => {
    const cookie = await login(A, 'admin');
    expect((await call(B, 'GET', '/api/v1/me', { cookie })).status).toBe(200);
    await postgres.kill();
    try {
      const away = await call(B, 'GET', '/api/v1/me', { cookie });
      expect(away).toMatchObject({ status: 503, body: { error: { code: 'store_unavailable' } } });
      expect(JSON.stringify(away.body)).not.toContain(String(postgres.port)); // no url in the answer
      expect((await call(B, 'GET', '/api/v1/tokens', { bearer: 'vt_unknown' })).status).toBe(503);
    } finally {
      await postgres.restart();
    }
    await waitFor(
      'host B to read the session again',
      async () => (await call(B, 'GET', '/api/v1/me', { cookie })).status === 200,
      { timeoutMs: 20_000 },
    );
  });
});
