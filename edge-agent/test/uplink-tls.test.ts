import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { uplinkTlsOptions } from '../src/uplink-tls.js';

describe('uplink TLS options (cloud.tls)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
  writeFileSync(join(dir, 'edge.crt'), 'CERT PEM');
  writeFileSync(join(dir, 'edge.key'), 'KEY PEM');

  it('reads the CA and the client certificate relative to the config folder, and verifies the broker', () => {
    const o = uplinkTlsOptions(
      ['mqtts://cloud:8883', 'mqtts://cloud-b:8883'],
      { ca: 'ca.crt', cert: 'edge.crt', key: 'edge.key' },
      dir,
    );
    expect(o?.ca.toString()).toBe('CA PEM');
    expect(o?.cert?.toString()).toBe('CERT PEM');
    expect(o?.key?.toString()).toBe('KEY PEM');
    expect(o?.rejectUnauthorized).toBe(true);
    expect(uplinkTlsOptions(['mqtt://cloud:1883'], undefined, dir)).toBeUndefined();
  });

  it('names the key for an unreadable file and for tls with a plain mqtt:// url', () => {
    expect(() => uplinkTlsOptions(['mqtts://cloud:8883'], { ca: 'missing.crt' }, dir)).toThrow(
      /cloud\.tls\.ca: cannot read/,
    );
    expect(() => uplinkTlsOptions(['mqtt://cloud:1883'], { ca: 'ca.crt' }, dir)).toThrow(ConfigError);
    expect(() => uplinkTlsOptions(['mqtt://cloud:1883'], { ca: 'ca.crt' }, dir)).toThrow(
      /needs an mqtts:\/\//,
    );
    // One plain broker in a list is refused too, naming it: its password would go in clear.
    expect(() =>
      uplinkTlsOptions(['mqtts://cloud:8883', 'mqtt://cloud-b:1883'], { ca: 'ca.crt' }, dir),
    ).toThrow('cloud.tls: needs an mqtts:// URL for every broker (got mqtt://cloud-b:1883)');
  });
});
