import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { verifyPassword } from '../src/password-hash.js';
import { REGISTRY, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';

import { BIN, type Run, lines, runBin } from './run-cloud-bin.js';

describe('village-cloud bin (child process)', { timeout: 60_000 }, () => {
  let dir: string;
  const running: Run[] = [];
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} missing: build first (npx tsc -p tsconfig.build.json)`);
    dir = mkdtempSync(join(tmpdir(), 'cloud-bin-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  });
  afterAll(() => {
    for (const r of running) r.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (name: string, config: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof config === 'string' ? config : stringify(config));
    return path;
  };

  it('exits 2 with a message naming the key for a bad config', async () => {
    const r = runBin(['--config', writeConfig('cloud.yaml', 'mqtt:\n  port: "1883"\n')]);
    expect(await r.exit).toBe(2);
    expect(r.stderr.join('')).toContain('cloud.yaml: mqtt.port: expected number, received string');
  });

  it('exits 2 for a missing config file, a bad registry, or bad usage', async () => {
    const missing = runBin(['--config', join(dir, 'nope.yaml')]);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr.join('')).toMatch(/nope\.yaml: cannot read/);

    writeFileSync(join(dir, 'bad-registry.yaml'), 'counties: 3\n');
    const badReg = runBin([
      '--config',
      writeConfig('c2.yaml', { registry: './bad-registry.yaml', http: { port: 0 }, mqtt: { port: 0 } }),
    ]);
    expect(await badReg.exit).toBe(2);
    expect(badReg.stderr.join('')).toContain('bad-registry.yaml: counties: expected array, received number');

    const usage = runBin([]);
    expect(await usage.exit).toBe(2);
    expect(usage.stderr.join('')).toMatch(/--config/);
    const help = runBin(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout.join('')).toContain('hash-password');
  });

  it('hash-password reads stdin and prints a verifiable scrypt hash', async () => {
    const r = runBin(['hash-password'], 'correct horse\n');
    expect(await r.exit).toBe(0);
    const hash = r.stdout.join('').trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    const empty = runBin(['hash-password'], '');
    expect(await empty.exit).toBe(2);
  });

  it('runs: logs "cloud ready" with the bound ports, ingests, stops cleanly on SIGTERM (exit 0)', async () => {
    const hashRun = runBin(['hash-password'], 'edge-secret');
    expect(await hashRun.exit).toBe(0);
    const config = writeConfig('run.yaml', {
      dataDir: './run-data',
      registry: './registry.yaml',
      mqtt: { port: 0 },
      http: { port: 0 },
      edges: [{ id: 'edge-1', passwordHash: hashRun.stdout.join('').trim() }],
    });
    const r = runBin(['--config', config]);
    running.push(r);
    const ready = await waitFor('cloud ready', () => lines(r).find((l) => l.msg === 'cloud ready'));
    expect(ready.mqttPort).toEqual(expect.any(Number));
    expect(ready.httpPort).toEqual(expect.any(Number));
    expect(lines(r).filter((l) => l.msg === 'cloud ready')).toHaveLength(1);

    const edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqttPort}`, {
      protocolVersion: 4,
      username: 'edge-1',
      password: 'edge-secret',
      reconnectPeriod: 0,
    });
    const acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 10));
    await waitForAck(acks, 1);
    expect(edge.connected).toBe(true);
    await edge.endAsync();
    const health = (await (await fetch(`http://127.0.0.1:${ready.httpPort}/api/v1/health`)).json()) as {
      status: string;
    };
    expect(health.status).toBe('ok');

    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    // The e2e tests read the database file directly, read-only.
    const db = new Database(join(dir, 'run-data', 'cloud.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n, SUM(rewrites) AS rw FROM readings').get()).toEqual({
      n: 10,
      rw: 0,
    });
    db.close();
  });

  it('exits 2 with one line naming the key and value when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    for (const [key, config] of [
      ['mqtt.port', { dataDir: './busy-data', mqtt: { port }, http: { port: 0 } }],
      ['http.port', { dataDir: './busy-data', mqtt: { port: 0 }, http: { port } }],
    ] as const) {
      const r = runBin(['--config', writeConfig('busy.yaml', config)]);
      running.push(r);
      expect(await r.exit).toBe(2);
      expect(r.stderr.join('').trim().split('\n')).toEqual([
        `busy.yaml: ${key}: 127.0.0.1:${port}: already in use by another process (EADDRINUSE)`,
      ]);
    }
    blocker.close();
  });
});
