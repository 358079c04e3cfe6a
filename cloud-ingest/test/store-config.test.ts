import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@village/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkCloudConfig } from '../src/config-check.js';
import { parseConfig } from '../src/config.js';
import { BIN, runBin } from './run-cloud-bin.js';

// The one combination `store.kind: postgres` runs in: nothing shared on disk.
const severalHosts = {
  store: { kind: 'postgres', url: 'postgres://village:${TEST_STORE_PW}@db.internal:5432/village' },
  mqtt: { mode: 'external', url: 'mqtt://broker:1884', clientId: 'host-1' },
  sink: { kind: 'influx', url: 'http://influx:8086', api: 'v1' },
  rules: { enabled: false },
};

describe('cloud.yaml store: sqlite (default) | postgres', () => {
  it('defaults to the SQLite store, so a cloud.yaml without the section behaves as before', () => {
    expect(parseConfig({}, '/srv').store).toEqual({ kind: 'sqlite' });
    expect(parseConfig({ store: { kind: 'sqlite' } }, '/srv').store).toEqual({ kind: 'sqlite' });
  });

  it('reads a postgres url with the password from ${ENV}', () => {
    process.env.TEST_STORE_PW = 'pg-s3cret';
    const c = parseConfig(severalHosts, '/srv');
    expect(c.store).toEqual({
      kind: 'postgres',
      url: 'postgres://village:pg-s3cret@db.internal:5432/village',
      registryPollMs: 1000, // the default: each host asks for a newer shared registry every second
    });
    expect(() => checkCloudConfig(c)).not.toThrow();
  });

  it('refuses a bad url, an unset ${ENV} and an unknown kind, naming the key', () => {
    Reflect.deleteProperty(process.env, 'TEST_STORE_UNSET');
    const bad = (store: unknown) => () => parseConfig({ ...severalHosts, store }, '/srv');
    expect(bad({ kind: 'postgres', url: 'mysql://db/village' })).toThrow(
      /cloud\.yaml: store\.url: must be a postgres:\/\//,
    );
    expect(bad({ kind: 'postgres', url: 'postgres://u:${TEST_STORE_UNSET}@db/v' })).toThrow(
      /store\.url.*TEST_STORE_UNSET is not set/,
    );
    expect(bad({ kind: 'postgres' })).toThrow(/store\.url/);
    expect(bad({ kind: 'redis', url: 'redis://x' })).toThrow(ConfigError);
    expect(bad({ kind: 'sqlite', url: 'postgres://db/v' })).toThrow(/store/);
  });

  it('refuses postgres with the embedded broker or the SQLite sink, naming the key; rules run across hosts', () => {
    process.env.TEST_STORE_PW = 'pg-s3cret';
    const check = (over: Record<string, unknown>) => () =>
      checkCloudConfig(parseConfig({ ...severalHosts, ...over }, '/srv', 'host.yaml'));
    expect(check({ mqtt: { port: 0 } })).toThrow(
      /^host\.yaml: store\.kind: postgres needs mqtt\.mode: external .*not embedded$/,
    );
    expect(check({ sink: { kind: 'sqlite' } })).toThrow(
      /^host\.yaml: store\.kind: postgres needs sink\.kind: influx .*not sqlite$/,
    );
    expect(check({ rules: {} })).not.toThrow();
    expect(check({ mqtt: { port: 0 } })).toThrow(ConfigError);
  });
});

describe('village-cloud --check with store.kind postgres (child process)', { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} missing: build first (npx tsc -p tsconfig.build.json)`);
    dir = mkdtempSync(join(tmpdir(), 'store-config-'));
    process.env.TEST_STORE_PW = 'pg-s3cret';
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 and says which key for the embedded broker, 0 for the several-hosts combination', async () => {
    const path = join(dir, 'cloud.yaml');
    writeFileSync(path, stringify({ ...severalHosts, mqtt: { port: 0 } }));
    const embedded = runBin(['--config', path, '--check']);
    expect(await embedded.exit).toBe(2);
    expect(embedded.stderr.join('')).toContain('cloud.yaml: store.kind: postgres needs mqtt.mode: external');

    const ok = join(dir, 'ok.yaml');
    writeFileSync(ok, stringify({ ...severalHosts, dataDir: './data-ok' }));
    const good = runBin(['--config', ok, '--check']);
    const code = await good.exit;
    expect(good.stderr.join(''), good.stderr.join('')).toBe('');
    expect(code).toBe(0);
  });
});
