import { createHash } from 'node:crypto';
import { ConfigError } from '@village/service-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskName, maskPhone } from '../src/auth/mask-personal.js';
import { openSessionStore } from '../src/auth/session-store.js';
import { startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { openDatabase } from '../src/store/open-database.js';
import { type ScopedCloud, startScopedCloud } from './auth-cloud.js';
import { counterValue } from './cloud-fixture.js';

const post = (base: string, path: string, body: string, cookie?: string) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body,
  });

describe('logins and sessions', { timeout: 60_000 }, () => {
  let t: ScopedCloud;
  beforeAll(async () => {
    t = await startScopedCloud();
  });
  afterAll(() => t.stop());

  it('refuses the API without a session, but health answers (with no edges)', async () => {
    const devices = await t.get('/api/v1/devices');
    expect(devices.status).toBe(401);
    expect(devices.body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    for (const path of [
      '/api/v1/latest',
      '/api/v1/events',
      '/api/v1/me',
      '/api/v1/people',
      '/api/v1/stream',
    ]) {
      expect((await fetch(`${t.base}${path}`)).status, path).toBe(401);
    }
    const health = await t.get('/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.body.edges).toEqual([]);
  });

  it('logs in with the right password and sets an HttpOnly, SameSite=Strict session cookie', async () => {
    const res = await post(
      t.base,
      '/api/v1/login',
      JSON.stringify({ username: 'town1', password: 'town1-pw' }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: unknown; expiresAt: number };
    expect(body.user).toEqual({ username: 'town1', role: 'town', place: 't1', name: 'town officer town1' });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^village_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain(`Max-Age=${8 * 3600}`);
    const session = cookie.split(';')[0]!;
    const me = await t.get('/api/v1/me', session);
    expect(me).toEqual({ status: 200, body: { user: body.user } });
    // Only the token's hash is stored: a copy of cloud.db does not hold a usable cookie.
    const token = session.split('=')[1]!;
    const rows = t.cloud.db.prepare('SELECT token_hash FROM sessions').all() as { token_hash: string }[];
    expect(rows.map((r) => r.token_hash)).toContain(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses wrong credentials and bad bodies with typed errors, counted', async () => {
    const wrong = await post(
      t.base,
      '/api/v1/login',
      JSON.stringify({ username: 'admin', password: 'nope' }),
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: { code: 'bad_credentials', message: 'wrong username or password' },
    });
    const unknown = await post(
      t.base,
      '/api/v1/login',
      JSON.stringify({ username: 'mallory', password: 'x' }),
    );
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      'wrong username or password',
    );
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const bad: [string, string][] = [
      ['{"username":"admin","pass', 'bad_body'], // truncated
      ['\u0000\u00ff\u0013garbage', 'bad_body'], // random bytes
      ['{"username":42,"password":"x"}', 'bad_param'], // wrong type
      [JSON.stringify({ username: 'admin', password: ['admin-pw'] }), 'bad_param'],
      [JSON.stringify({ username: 'admin', password: 'x'.repeat(5000) }), 'bad_param'], // oversized
      [JSON.stringify({ username: 'a'.repeat(65), password: 'x' }), 'bad_param'],
      ['null', 'bad_param'],
    ];
    for (const [body, code] of bad) {
      const res = await post(t.base, '/api/v1/login', body);
      expect(res.status, body.slice(0, 30)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const metric = t.cloud.metrics.registry.getSingleMetric('cloud_logins_total');
    // biome-ignore lint/suspicious/noExplicitAny: prom-client's generic metric type
    const value = (result: string) => counterValue(metric as any, { result });
    expect(await value('bad_credentials')).toBe(2);
    expect(await value('bad_request')).toBe(bad.length);
    expect(t.logs.filter((l) => l.msg === 'login refused')).toHaveLength(2);
  });

  it('a forged or replayed-after-logout cookie is refused', async () => {
    expect(
      (await t.get('/api/v1/me', 'village_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status,
    ).toBe(401);
    const session = await t.login('villageA');
    expect((await t.get('/api/v1/me', session)).status).toBe(200);
    const out = await post(t.base, '/api/v1/logout', '{}', session);
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/village_session=;.*Max-Age=0/);
    expect((await t.get('/api/v1/me', session)).status).toBe(401);
  });

  it('an expired session is refused', async () => {
    const session = await t.login('county');
    expect((await t.get('/api/v1/devices', session)).status).toBe(200);
    // Move the session's expiry into the past, as the ttl passing would.
    const hash = createHash('sha256').update(session.split('=')[1]!).digest('hex');
    t.cloud.db.prepare('UPDATE sessions SET expires_at = ? WHERE token_hash = ?').run(Date.now() - 1, hash);
    expect((await t.get('/api/v1/devices', session)).status).toBe(401);
  });

  it('sessions survive a cloud restart (they live in SQLite)', async () => {
    const session = await t.login('admin');
    await t.restart();
    expect((await t.get('/api/v1/me', session)).body).toMatchObject({ user: { username: 'admin' } });
  });
});

describe('without users', { timeout: 60_000 }, () => {
  let t: ScopedCloud;
  beforeAll(async () => {
    t = await startScopedCloud({ users: false });
  });
  afterAll(() => t.stop());

  it('everything is open and logins are off', async () => {
    expect((await t.get('/api/v1/devices')).status).toBe(200);
    expect((await t.get('/api/v1/me')).body).toEqual({
      user: { username: 'anonymous', role: 'anonymous', place: null, name: 'anonymous' },
    });
    const login = await post(t.base, '/api/v1/login', JSON.stringify({ username: 'admin', password: 'x' }));
    expect(login.status).toBe(404);
    const people = (await t.get('/api/v1/people')).body.people as { name: string }[];
    expect(people.map((p) => p.name)).toEqual(['张三', '李四']);
  });
});

describe('session store and config', () => {
  it('a session expires at login + ttl, and purge removes it', async () => {
    const db = openDatabase(`/tmp/session-store-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const store = openSessionStore(db);
    const token = await store.create('u', 1_000, 60_000);
    expect(await store.get(token, 60_999)).toEqual({ username: 'u', createdAt: 1_000, expiresAt: 61_000 });
    expect(await store.get(token, 61_000)).toBeUndefined();
    expect(await store.purge(61_000)).toBe(1);
    db.close();
  });

  it('refuses users with a plaintext password, an unknown role or a missing place', () => {
    const parse = (users: unknown) => () => parseConfig({ users }, '/srv');
    expect(parse([{ username: 'a', passwordHash: 'hunter2', role: 'admin', name: 'A' }])).toThrow(
      /users\.0\.passwordHash: must be a hash/,
    );
    const passwordHash = hashPassword('x');
    expect(parse([{ username: 'a', passwordHash, role: 'mayor', name: 'A' }])).toThrow(/users\.0\.role/);
    expect(parse([{ username: 'a', passwordHash, role: 'village', name: 'A' }])).toThrow(
      /users\.0\.place: place is required/,
    );
    expect(
      parse([
        { username: 'a', passwordHash, role: 'admin', name: 'A' },
        { username: 'a', passwordHash, role: 'admin', name: 'B' },
      ]),
    ).toThrow(/usernames must be unique/);
  });

  it('refuses to start when a user names a place the registry does not have', async () => {
    const config = parseConfig(
      {
        dataDir: `/tmp/cloud-auth-bad-${process.pid}-${Math.random().toString(36).slice(2)}`,
        mqtt: { port: 0 },
        http: { port: 0 },
        users: [{ username: 'a', passwordHash: hashPassword('x'), role: 'town', place: 't9', name: 'A' }],
      },
      '/',
    );
    const err = await startCloud(config, pino({ level: 'silent' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('cloud.yaml: users.0.place: no town t9 in the registry');
  });

  it('masks names and phone numbers', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskName('李')).toBe('李*');
    expect(maskPhone('13812341234')).toBe('138****1234');
    expect(maskPhone('+86 138 1234 1234')).toBe('861******1234');
  });
});
