import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Influxd, freePort, startInfluxd, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashPassword } from '../src/password-hash.js';
import { apiForVersion } from '../src/sink/influx-startup.js';
import { REGISTRY, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { type Run, lines, runBin } from './run-cloud-bin.js';

/**
 * The cloud's InfluxDB start-up against a real influxd (Debian's 1.6.7, no database made): a
 * missing database stops the start with one line (exit 2) instead of "cloud ready" and failing
 * batches; `createDatabase: true` makes it; `api` left out is read from /ping (1.6.7 → v1, whose
 * writes then land); --check --connect asks the same questions; a sink change is refused.
 */
describe('InfluxDB at start-up', { timeout: 90_000 }, () => {
  let influx: Influxd;
  let VERSION = '';
  let dir: string;
  const running: Run[] = [];
  beforeAll(async () => {
    influx = await startInfluxd([]);
    VERSION = (await fetch(`${influx.url}/ping`)).headers.get('x-influxdb-version')!;
    expect(VERSION).toMatch(/^1\.6\./);
    dir = mkdtempSync(join(tmpdir(), 'influx-startup-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  });
  afterAll(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await influx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const config = (name: string, sink: Record<string, unknown>, dataDir = `./${name}-data`) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      stringify({
        dataDir,
        registry: './registry.yaml',
        mqtt: { port: 0 },
        http: { port: 0 },
        edges: [{ id: 'edge-1', passwordHash: hashPassword('edge-secret') }],
        sink,
      }),
    );
    return path;
  };
  const run = (args: string[]) => {
    const r = runBin(args);
    running.push(r);
    return r;
  };

  it('reads the API generation from the version /ping gives', () => {
    expect(apiForVersion('1.6.7')).toBe('v1');
    expect(apiForVersion('1.8.10')).toBe('v2');
    expect(apiForVersion('v2.7.1')).toBe('v2');
    expect(apiForVersion('3.0.0')).toBe('v2');
  });

  it('a missing database: one line naming sink.database, exit 2, never "cloud ready"', async () => {
    const path = config('nodb', { kind: 'influx', url: influx.url, database: 'village' });
    // Debian's build calls itself 1.6.7~rc0.
    const want = `nodb.yaml: sink.database: "village" does not exist on ${influx.url} (InfluxDB ${VERSION}); create it (influx -execute 'CREATE DATABASE "village"') or set sink.createDatabase: true\n`;
    const r = run(['--config', path]);
    expect(await r.exit).toBe(2);
    expect(r.stderr.join('')).toBe(want);
    expect(lines(r).some((l) => l.msg === 'cloud ready')).toBe(false);

    const connect = run(['--config', path, '--check', '--connect']);
    expect(await connect.exit).toBe(2);
    expect(connect.stderr.join('')).toBe(want);
    // Without --connect, --check does not reach out.
    const offline = run(['--config', path, '--check']);
    expect(await offline.exit).toBe(0);
  });

  it('InfluxDB not answering: one line naming sink.url, exit 1 (it may still be starting)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = run(['--config', config('down', { kind: 'influx', url, timeoutMs: 2_000 })]);
    expect(await r.exit).toBe(1);
    expect(r.stderr.join('')).toBe(`down.yaml: sink.url: ${url}: InfluxDB does not answer (ECONNREFUSED)\n`);
  });

  it('createDatabase makes it; api left out picks v1 from /ping, and batches are written', async () => {
    const path = config('made', { kind: 'influx', url: influx.url, database: 'made', createDatabase: true });
    const r = run(['--config', path]);
    const ready = await waitFor('cloud ready', () => lines(r).find((l) => l.msg === 'cloud ready'));
    expect(lines(r).find((l) => l.msg === 'InfluxDB ready')).toMatchObject({
      api: 'v1',
      version: VERSION,
      createdDatabase: true,
    });
    const edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqttPort}`, {
      protocolVersion: 4,
      username: 'edge-1',
      password: 'edge-secret',
      reconnectPeriod: 0,
    });
    const acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 5));
    await waitForAck(acks, 1);
    await edge.endAsync();
    const [result] = await influx.query('SELECT count(pm25) FROM /.*/', 'made');
    expect(result!.series?.[0]?.values?.[0]?.[1]).toBe(5);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);

    const check = run(['--config', path, '--check', '--connect']);
    expect(await check.exit).toBe(0);
    expect(check.stdout.join('')).toContain(
      `InfluxDB ${VERSION} at ${influx.url} answers (api v1), database made exists`,
    );
  });

  it('refuses a sink change on a dataDir holding the other sink’s data unless --allow-sink-change', async () => {
    // A first life on the SQLite sink, with data.
    const sqlite = config('first', { kind: 'sqlite' }, './shared-data');
    const r = run(['--config', sqlite]);
    const ready = await waitFor('cloud ready', () => lines(r).find((l) => l.msg === 'cloud ready'));
    const edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqttPort}`, {
      protocolVersion: 4,
      username: 'edge-1',
      password: 'edge-secret',
      reconnectPeriod: 0,
    });
    const acks = await collectAcks(edge, 'edge-1');
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 5));
    await waitForAck(acks, 1);
    await edge.endAsync();
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);

    const influxPath = config(
      'second',
      { kind: 'influx', url: influx.url, database: 'made' },
      './shared-data',
    );
    for (const args of [[], ['--check']]) {
      const refused = run(['--config', influxPath, ...args]);
      expect(await refused.exit).toBe(2);
      const text = refused.stderr.join('');
      expect(text.trim().split('\n')).toHaveLength(1);
      expect(text).toMatch(
        /^second\.yaml: sink\.kind: influx, but .*cloud\.db holds 1 series stored by the SQLite sink \(kind: sqlite\); after the change they no longer show in \/api\/v1\/latest, \/series or \/events .*--allow-sink-change/,
      );
    }
    const allowed = run(['--config', influxPath, '--allow-sink-change']);
    await waitFor('cloud ready, allowed', () => lines(allowed).find((l) => l.msg === 'cloud ready'));
    allowed.child.kill('SIGTERM');
    expect(await allowed.exit).toBe(0);
  });
});
