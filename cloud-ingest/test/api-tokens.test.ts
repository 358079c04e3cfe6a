import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScopedCloud, pmBatch, startScopedCloud } from './auth-cloud.js';

const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);
const run = promisify(execFile);

/**
 * Issue 17, API tokens: issued and revoked by an admin over HTTP, scoped by role and place like
 * a user, read-only or read-write, expiring; a real cloud with real MQTT ingest and HTTP.
 */
describe('API tokens (Authorization: Bearer)', { timeout: 60_000 }, () => {
  let t: ScopedCloud;
  let admin: string;
  beforeAll(async () => {
    t = await startScopedCloud();
    await t.publish('edge-a', pmBatch('edge-a', 1, 'pm-a', 5, T0));
    await t.publish('edge-b', pmBatch('edge-b', 1, 'pm-b', 5, T0));
    admin = await t.login('admin');
  });
  afterAll(() => t.stop());

  const issue = async (body: Record<string, unknown>, cookie = admin) => {
    const res = await fetch(`${t.base}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { token: string; id: string } & Record<string, unknown>,
    };
  };
  const bearer = (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  const devicesWith = async (token: string) => {
    const res = await bearer(token, '/api/v1/devices');
    return {
      status: res.status,
      ids:
        res.status === 200
          ? ((await res.json()) as { devices: { id: string }[] }).devices.map((d) => d.id).sort()
          : [],
    };
  };

  it('a token limited to village A reads A and nothing else, also through curl', async () => {
    const { status, body } = await issue({ name: 'report-a', role: 'village', place: 'vA', access: 'read' });
    expect(status).toBe(201);
    expect(body.token).toMatch(/^vt_[A-Za-z0-9_-]{43}$/);
    expect(await devicesWith(body.token)).toEqual({ status: 200, ids: ['pm-a'] });
    const latest = (await (await bearer(body.token, '/api/v1/latest?device=pm-b')).json()) as {
      latest: unknown[];
    };
    expect(latest.latest).toEqual([]);
    const series = await bearer(
      body.token,
      `/api/v1/series?device=pm-b&metric=pm25&from=${T0}&to=${T0 + 60_000}&step=1m`,
    );
    expect(series.status).toBe(404);
    const { stdout } = await run('curl', [
      '-sS',
      '-H',
      `Authorization: Bearer ${body.token}`,
      `${t.base}/api/v1/latest`,
    ]);
    expect((JSON.parse(stdout) as { latest: { device: string }[] }).latest.map((l) => l.device)).toEqual([
      'pm-a',
    ]);
  });

  it('the secret is not stored: cloud.db holds its SHA-256 only, and the list never shows it', async () => {
    const { body } = await issue({ name: 'hashed', role: 'admin', access: 'read' });
    const rows = t.cloud.db.prepare('SELECT * FROM api_tokens').all();
    expect(JSON.stringify(rows)).not.toContain(body.token.slice(3));
    const list = await (await fetch(`${t.base}/api/v1/tokens`, { headers: { cookie: admin } })).text();
    expect(list).toContain(body.id);
    expect(list).not.toContain(body.token.slice(3));
  });

  it('a read-only token cannot POST (403); a read-write one can', async () => {
    const ro = (await issue({ name: 'ro', role: 'admin', access: 'read' })).body.token;
    const rw = (await issue({ name: 'rw', role: 'admin', access: 'read-write' })).body.token;
    const post = (token: string) =>
      bearer(token, '/api/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'child', role: 'village', place: 'vB', access: 'read' }),
      });
    const refused = await post(ro);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('read_only_token');
    expect((await post(rw)).status).toBe(201);
  });

  it('a revoked token gets 401; an unknown one too', async () => {
    const { body } = await issue({ name: 'to-revoke', role: 'town', place: 't1', access: 'read' });
    expect((await devicesWith(body.token)).ids).toEqual(['pm-a', 'pm-b']);
    const del = await fetch(`${t.base}/api/v1/tokens/${body.id}`, {
      method: 'DELETE',
      headers: { cookie: admin },
    });
    expect(del.status).toBe(200);
    const after = await bearer(body.token, '/api/v1/devices');
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('bad_token');
    expect((await bearer('vt_not-a-token', '/api/v1/devices')).status).toBe(401);
  });

  it('an expired token gets 401', async () => {
    const { body } = await issue({
      name: 'short',
      role: 'village',
      place: 'vB',
      access: 'read',
      expiresInS: 1,
    });
    expect((await devicesWith(body.token)).ids).toEqual(['pm-b']);
    await waitFor('token expiry', async () => (await devicesWith(body.token)).status === 401, {
      intervalMs: 100,
    });
  });

  it('an API token does not open /metrics, which keeps its own scraper token', async () => {
    const { body } = await issue({ name: 'not-prometheus', role: 'admin', access: 'read' });
    expect((await bearer(body.token, '/api/v1/devices')).status).toBe(200);
    expect((await bearer(body.token, '/metrics')).status).toBe(401);
  });

  it('only admins issue tokens; an unknown place is refused naming it', async () => {
    const officer = await t.login('villageA');
    expect((await issue({ name: 'x', role: 'village', place: 'vA', access: 'read' }, officer)).status).toBe(
      403,
    );
    const bad = await issue({ name: 'x', role: 'village', place: 'nowhere', access: 'read' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('nowhere');
  });
});
