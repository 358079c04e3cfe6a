import { waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinCloud, startBinCloud } from './http-bin-cloud.js';

interface Credential {
  secret: string;
  credential: { id: string; validUntil: number | null };
  previous: { id: string; validUntil: number | null }[];
}

// Issue 17: the admin API changes the registry live, issues, rotates and revokes edge secrets,
// and sets officers' passwords; every change is audited. Built bin, real MQTT clients.
describe('admin API (built bin)', { timeout: 120_000 }, () => {
  let t: BinCloud;
  let admin: string;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    t = await startBinCloud();
    admin = await t.cookie('admin');
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await t?.stop();
  });

  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    cookie = admin,
  ) => {
    const res = await fetch(`${t.base}${path}`, {
      method,
      headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  /** 'connected', or the refusal's message; with `keep`, the client stays open (else it leaves at once). */
  const connect = (username: string, password: string, keep = false) =>
    new Promise<{ result: string; client: MqttClient }>((resolve) => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${t.mqttPort}`, {
        protocolVersion: 4,
        clientId: `${username}-${Math.random().toString(16).slice(2, 8)}`,
        username,
        password,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      clients.push(client);
      client.once('connect', () => {
        if (!keep) client.end(true);
        resolve({ result: 'connected', client });
      });
      client.once('error', (err) => resolve({ result: err.message, client }));
    });

  it('only admins change the registry', async () => {
    const village = await t.cookie('villageA');
    const county = await t.cookie('county');
    for (const who of [village, county]) {
      const r = await call('POST', '/api/v1/admin/villages', { id: 'vX', town: 't1', name: 'X' }, who);
      expect(r.status).toBe(403);
      expect((await call('GET', '/api/v1/admin/edges', undefined, who)).status).toBe(403);
    }
  });

  it('refuses bad entities with a typed error naming the key, and keeps places that hold anything', async () => {
    const noTown = await call('POST', '/api/v1/admin/villages', { id: 'vX', town: 'nowhere', name: 'X' });
    expect(noTown).toMatchObject({ status: 400, body: { error: { code: 'unknown_parent' } } });
    expect((noTown.body as { error: { message: string } }).error.message).toContain('no town nowhere');
    const badId = await call('POST', '/api/v1/admin/villages', { id: 'bad id', town: 't1', name: 'X' });
    expect(badId).toMatchObject({ status: 400, body: { error: { code: 'bad_entity' } } });
    expect((badId.body as { error: { message: string } }).error.message).toContain('village: id:');
    const dup = await call('POST', '/api/v1/admin/villages', { id: 'vA', town: 't1', name: 'again' });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'exists' } } });
    const full = await call('DELETE', '/api/v1/admin/stations/sA');
    expect(full).toMatchObject({ status: 409, body: { error: { code: 'in_use' } } });
    // A cloud.yaml officer's village cannot go (its officer would reach nothing).
    await call('DELETE', '/api/v1/admin/people/p2');
    await call('DELETE', '/api/v1/admin/edges/edge-b');
    const officer = await call('DELETE', '/api/v1/admin/stations/sB');
    expect(officer.status).toBe(200);
    const villageB = await call('DELETE', '/api/v1/admin/villages/vB');
    expect(villageB).toMatchObject({ status: 409, body: { error: { code: 'in_use' } } });
    expect((await call('GET', '/api/v1/admin/villages/vB')).status).toBe(200);
  });

  it('a new edge connects with the secret it was issued; rotation overlaps; revoking disconnects', async () => {
    expect(
      (await call('POST', '/api/v1/admin/villages', { id: 'vN', town: 't2', name: '新村' })).status,
    ).toBe(201);
    expect(
      (await call('POST', '/api/v1/admin/stations', { id: 'sN', village: 'vN', name: '新站' })).status,
    ).toBe(201);
    const created = await call<{ edge: unknown; credential: Credential }>('POST', '/api/v1/admin/edges', {
      id: 'edge-n',
      station: 'sN',
    });
    expect(created.status).toBe(201);
    expect(created.body.edge).toEqual({ id: 'edge-n', station: 'sN' });
    const first = created.body.credential.secret;
    expect((await connect('edge-n', first)).result).toBe('connected');
    expect((await connect('edge-n', 'wrong')).result).toMatch(/Bad username or password|Not authorized/);

    // The new station's village is visible to the county officer at once (scopes read the store).
    const county = await t.cookie('county');
    const places = await call('GET', '/api/v1/places', undefined, county);
    expect(JSON.stringify(places.body)).toContain('vN');

    const rotated = await call<Credential>('POST', '/api/v1/admin/edges/edge-n/credentials', { overlapS: 2 });
    expect(rotated.status).toBe(201);
    const second = rotated.body.secret;
    expect(second).not.toBe(first);
    const overlapEnd = rotated.body.previous[0]!.validUntil!;
    expect(overlapEnd).toBeGreaterThan(Date.now());
    expect((await connect('edge-n', first)).result).toBe('connected');
    expect((await connect('edge-n', second)).result).toBe('connected');
    await waitFor(
      'the old secret to be refused after the overlap',
      async () => Date.now() > overlapEnd && (await connect('edge-n', first)).result !== 'connected',
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect((await connect('edge-n', second)).result).toBe('connected');

    const live = await connect('edge-n', second, true);
    const closed = new Promise<void>((resolve) => live.client.once('close', () => resolve()));
    const revoked = await call<{ revoked: number; disconnected: number }>(
      'DELETE',
      '/api/v1/admin/edges/edge-n/credentials',
    );
    expect(revoked.body.revoked).toBe(1);
    expect(revoked.body.disconnected).toBeGreaterThanOrEqual(1);
    await closed;
    expect((await connect('edge-n', second)).result).not.toBe('connected');

    const audit = await call<{
      audit: { action: string; entity: string; entityId: string; actor: string }[];
    }>('GET', '/api/v1/admin/audit?entity=edge&id=edge-n');
    expect(audit.body.audit.map((a) => a.action).reverse()).toEqual([
      'create',
      'issue-credential',
      'rotate-credential',
      'revoke-credential',
    ]);
    expect(audit.body.audit.every((a) => a.actor === 'admin')).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain(second);
  });

  it('a removed cloud.yaml edge is disconnected and refused', async () => {
    const { result, client } = await connect('edge-c', 'edge-secret', true);
    expect(result).toBe('connected');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const removed = await call<{ disconnected: number }>('DELETE', '/api/v1/admin/edges/edge-c');
    expect(removed.status).toBe(200);
    await closed;
    expect((await connect('edge-c', 'edge-secret')).result).not.toBe('connected');
  });

  it('an admin adds an officer, who logs in; a password reset ends the old password', async () => {
    const made = await call('POST', '/api/v1/admin/users', {
      id: 'officer-n',
      name: '新村干部',
      role: 'village',
      place: 'vN',
      password: 'first-password',
    });
    expect(made).toMatchObject({
      status: 201,
      body: { user: { id: 'officer-n', role: 'village', place: 'vN' } },
    });
    expect(JSON.stringify(made.body)).not.toContain('scrypt');
    const before = await t.login('officer-n', 'first-password');
    expect(before.status).toBe(200);
    const oldSession = before.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('GET', '/api/v1/me', undefined, oldSession)).status).toBe(200);
    const reset = await call('PUT', '/api/v1/admin/users/officer-n/password', {
      password: 'second-password',
    });
    expect(reset.status).toBe(200);
    expect((await t.login('officer-n', 'first-password')).status).toBe(401);
    expect((await t.login('officer-n', 'second-password')).status).toBe(200);
    // The session opened with the old password ended with it.
    expect((await call('GET', '/api/v1/me', undefined, oldSession)).status).toBe(401);
    // cloud.yaml's officers stay in the file.
    const fileUser = await call('PUT', '/api/v1/admin/users/villageA/password', { password: 'x-password' });
    expect(fileUser).toMatchObject({ status: 409, body: { error: { code: 'configured_in_file' } } });
    const audit = await call<{ audit: { action: string; before: unknown; after: unknown }[] }>(
      'GET',
      '/api/v1/admin/audit?entity=user&id=officer-n',
    );
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    expect(audit.body.audit.map((a) => a.action)).toEqual(['set-password', 'create']);
    expect(JSON.stringify(audit.body)).not.toMatch(/first-password|second-password|scrypt/);
  });
});
