import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeSecretHash, newEdgeSecret, verifyEdgeSecret } from '../src/broker/edge-secret.js';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';

// The built bin (turbo builds before testing; locally: npx tsc -p tsconfig.build.json).
const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'village-cloud.js');

describe('edge secrets', () => {
  it('mints 256 random bits, stored as sha256$<hex>, and verifies only that secret', async () => {
    const a = newEdgeSecret();
    const b = newEdgeSecret();
    expect(Buffer.from(a.secret, 'base64url')).toHaveLength(32);
    expect(a.secret).not.toBe(b.secret);
    expect(a.passwordHash).toMatch(/^sha256\$[0-9a-f]{64}$/);
    expect(isEdgeSecretHash(a.passwordHash)).toBe(true);
    expect(await verifyEdgeSecret(a.secret, a.passwordHash)).toBe(true);
    expect(await verifyEdgeSecret(Buffer.from(a.secret), a.passwordHash)).toBe(true);
    expect(await verifyEdgeSecret(b.secret, a.passwordHash)).toBe(false);
    expect(await verifyEdgeSecret(`${a.secret}x`, a.passwordHash)).toBe(false);
    // An unknown edge is refused whatever it presents.
    expect(await verifyEdgeSecret(a.secret, undefined)).toBe(false);
    expect(isEdgeSecretHash('sha256$abc')).toBe(false);
    expect(isEdgeSecretHash(`sha256$${'A'.repeat(64)}`)).toBe(false);
  });

  it('keeps existing scrypt hashes working, and the cache of a match never admits another password', async () => {
    const hash = hashPassword('old-edge-password');
    expect(isEdgeSecretHash(hash)).toBe(true);
    expect(await verifyEdgeSecret('wrong', hash)).toBe(false);
    expect(await verifyEdgeSecret('old-edge-password', hash)).toBe(true);
    // Now cached: the same password again is admitted, another one still refused.
    expect(await verifyEdgeSecret('old-edge-password', hash)).toBe(true);
    expect(await verifyEdgeSecret(Buffer.from('old-edge-password'), hash)).toBe(true);
    expect(await verifyEdgeSecret('old-edge-passwore', hash)).toBe(false);
    expect(await verifyEdgeSecret('', hash)).toBe(false);
    // The cache is per stored hash: a match for one hash says nothing about another.
    expect(await verifyEdgeSecret('old-edge-password', hashPassword('other'))).toBe(false);
  });

  it('`village-cloud new-edge-secret` prints a secret and a hash cloud.yaml accepts', () => {
    const run = spawnSync(process.execPath, [BIN, 'new-edge-secret'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const [, secret] = /^secret: (\S+)$/m.exec(run.stdout) ?? [];
    const [, passwordHash] = /^passwordHash: (\S+)$/m.exec(run.stdout) ?? [];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(passwordHash).toMatch(/^sha256\$[0-9a-f]{64}$/);
    expect(() => parseConfig({ edges: [{ id: 'edge-1', passwordHash }] }, tmpdir())).not.toThrow();
  });
});

describe('the embedded broker with sha256 and scrypt edge hashes', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const connect = (cloud: RunningCloud, username: string, password: string) =>
    new Promise<'connected' | string>((resolve) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${cloud.mqttPort}`, {
        protocolVersion: 4,
        clientId: `${username}-${Math.random().toString(16).slice(2, 8)}`,
        username,
        password,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      cleanups.push(() => new Promise((r) => c.end(true, r)));
      c.once('connect', () => resolve('connected'));
      c.once('error', (err) => resolve(err.message));
    });

  it('admits each edge with its own secret, twice (cached scrypt too), and refuses a wrong one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-secret-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fresh = newEdgeSecret();
    const config = parseConfig(
      {
        dataDir: './data',
        mqtt: { port: 0 },
        http: { port: 0 },
        edges: [
          { id: 'edge-new', passwordHash: fresh.passwordHash },
          { id: 'edge-old', passwordHash: hashPassword('old-secret') },
        ],
        log: { level: 'warn' },
      },
      dir,
    );
    const cloud = await startCloud(config, pino({ level: 'silent' }));
    cleanups.push(() => cloud.close());

    for (let round = 0; round < 2; round++) {
      expect(await connect(cloud, 'edge-new', fresh.secret)).toBe('connected');
      expect(await connect(cloud, 'edge-old', 'old-secret')).toBe('connected');
    }
    expect(await connect(cloud, 'edge-new', newEdgeSecret().secret)).toMatch(/Bad username or password/);
    expect(await connect(cloud, 'edge-old', 'not-it')).toMatch(/Bad username or password/);
    // Another edge's secret does not open this one.
    expect(await connect(cloud, 'edge-old', fresh.secret)).toMatch(/Bad username or password/);
    expect(await connect(cloud, 'edge-nobody', fresh.secret)).toMatch(/Bad username or password/);
  });
});
