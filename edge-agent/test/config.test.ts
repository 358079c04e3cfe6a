import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEdgeConfig } from '../src/config.js';
import { DRIVER_KIND_NAMES, loadDriverKinds } from '../src/driver-kinds.js';

const driverKinds = await loadDriverKinds(DRIVER_KIND_NAMES);

const dir = mkdtempSync(join(tmpdir(), 'edge-config-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const base = `edgeId: edge-1
cloud:
  url: mqtt://127.0.0.1:1883
  password: \${EDGE_PW}
drivers:
  - kind: fake
    id: f1
    devices: 3
`;
const bin = join(import.meta.dirname, '..', 'dist', 'bin', 'village-edge.js');

describe('edge config', () => {
  it('loads a good file, expands ${ENV} and applies defaults', () => {
    const cfg = loadEdgeConfig(write('ok.yaml', base), driverKinds, { EDGE_PW: 's3cret' });
    expect(cfg.cloud.password).toBe('s3cret');
    expect(cfg.cloud.window).toBe(8);
    expect(cfg.cloud.ackTimeoutMaxMs).toBe(120_000);
    expect(cfg.outbox.synchronous).toBe('full');
    expect(cfg.drivers[0]).toMatchObject({
      kind: 'fake',
      id: 'f1',
      config: { devices: 3, intervalMs: 1000 },
    });
    expect(cfg.dataDir).toBe(join(dir, 'data'));
  });

  const bad: [string, string, RegExp][] = [
    ['wrong type', base.replace('devices: 3', 'devices: three'), /drivers\[0\]\.devices: .*number/],
    ['unknown key', `${base}colud: {}\n`, /colud/],
    [
      'bad url',
      base.replace('mqtt://127.0.0.1:1883', 'http://x'),
      /cloud\.url: must look like mqtt:\/\/host:port/,
    ],
    [
      'unknown driver',
      base.replace('kind: fake', 'kind: zigbee'),
      /drivers\[0\]\.kind: unknown driver kind "zigbee"/,
    ],
    ['missing key', base.replace('edgeId: edge-1\n', ''), /edgeId/],
    ['bad id', base.replace('edgeId: edge-1', 'edgeId: "a/b"'), /edgeId: must be an id/],
    ['not yaml', 'edgeId: [unclosed', /not valid YAML/],
    [
      'a resend cap under the first timeout',
      base.replace(
        'password: ${EDGE_PW}',
        'password: ${EDGE_PW}\n  ackTimeoutMs: 5000\n  ackTimeoutMaxMs: 1000',
      ),
      /cloud\.ackTimeoutMaxMs: must be at least cloud\.ackTimeoutMs/,
    ],
    [
      'both cloud.url and cloud.urls',
      base.replace('  password:', '  urls: [mqtt://127.0.0.1:1884]\n  password:'),
      /\.yaml: cloud\.urls: give cloud\.url \(one broker\) or cloud\.urls \(a list\), not both$/,
    ],
    [
      'neither cloud.url nor cloud.urls',
      base.replace('  url: mqtt://127.0.0.1:1883\n', ''),
      /\.yaml: cloud: needs cloud\.url \(one broker\) or cloud\.urls \(brokers to fail over between\)$/,
    ],
    [
      'a bad url in cloud.urls',
      base.replace('  url: mqtt://127.0.0.1:1883', '  urls: [mqtt://a:1883, "http://b"]'),
      /\.yaml: cloud\.urls\[1\]: must look like mqtt:\/\/host:port$/m,
    ],
    [
      'a repeated url in cloud.urls',
      base.replace('  url: mqtt://127.0.0.1:1883', '  urls: [mqtt://a:1883, mqtt://b:1883, mqtt://a:1883]'),
      /\.yaml: cloud\.urls\[2\]: mqtt:\/\/a:1883: also cloud\.urls\[0\]$/,
    ],
    ['an empty cloud.urls', base.replace('  url: mqtt://127.0.0.1:1883', '  urls: []'), /cloud\.urls: .*>=1/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name} with a message naming the key`, () => {
      const p = write(`${name.replace(/ /g, '-')}.yaml`, text);
      expect(() => loadEdgeConfig(p, driverKinds, { EDGE_PW: 'x' })).toThrow(ConfigError);
      expect(() => loadEdgeConfig(p, driverKinds, { EDGE_PW: 'x' })).toThrow(message);
    });
  }

  it('takes cloud.urls as the brokers to fail over between, and cloud.url as a list of one', () => {
    const list = loadEdgeConfig(
      write(
        'urls.yaml',
        base.replace(
          '  url: mqtt://127.0.0.1:1883',
          '  urls:\n    - mqtt://a.example:1883\n    - mqtts://b.example',
        ),
      ),
      driverKinds,
      { EDGE_PW: 'x' },
    );
    expect(list.cloud.urls).toEqual(['mqtt://a.example:1883', 'mqtts://b.example']);
    const one = loadEdgeConfig(write('url.yaml', base), driverKinds, { EDGE_PW: 'x' });
    expect(one.cloud.urls).toEqual(['mqtt://127.0.0.1:1883']);
    expect('url' in one.cloud).toBe(false);
  });

  it('names a missing environment variable and its key', () => {
    expect(() => loadEdgeConfig(write('env.yaml', base), driverKinds, {})).toThrow(
      /cloud\.password: environment variable EDGE_PW is not set/,
    );
  });

  // One ${ENV} rule for both bins (@village/service-kit): the edge once took upper-case names only,
  // so `${edge_pw}` went to the broker as the literal password.
  it('expands a lower-case ${env} name too', () => {
    const p = write('lower-env.yaml', base.replace('${EDGE_PW}', '${edge_pw}'));
    expect(loadEdgeConfig(p, driverKinds, { edge_pw: 's3cret' }).cloud.password).toBe('s3cret');
    expect(() => loadEdgeConfig(p, driverKinds, {})).toThrow(
      /cloud\.password: environment variable edge_pw is not set/,
    );
  });

  // Four node processes: 5 s is too tight on a loaded 2-core CI machine.
  it(
    'the bin exits 2 with the message on a bad file, 0 on --check of a good one, 0 on --help',
    { timeout: 30_000 },
    () => {
      const badRun = spawnSync(
        'node',
        [bin, '--config', write('bin-bad.yaml', base.replace('devices: 3', 'devices: -1'))],
        {
          env: { ...process.env, EDGE_PW: 'x' },
          encoding: 'utf8',
        },
      );
      expect(badRun.status).toBe(2);
      expect(badRun.stderr).toMatch(/drivers\[0\]\.devices/);
      const good = spawnSync('node', [bin, '--config', write('bin-ok.yaml', base), '--check'], {
        env: { ...process.env, EDGE_PW: 'x' },
        encoding: 'utf8',
      });
      expect(good.status).toBe(0);
      const help = spawnSync('node', [bin, '--help'], { encoding: 'utf8' });
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/--config/);
      const usage = spawnSync('node', [bin], { encoding: 'utf8' });
      expect(usage.status).toBe(2);
    },
  );
});
