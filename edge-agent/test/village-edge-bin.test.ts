import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * village-edge as an operator meets it, through the built bin (child processes): --version, bad
 * Modbus profiles found alike by --check and a start (exit 2, nothing opened), a port in use named
 * by key without counting a boot, the log schema and build info, SIGHUP logged and survived.
 */
const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'village-edge.js');
const commit = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const dir = mkdtempSync(join(tmpdir(), 'edge-bin-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const edgeYaml = (name: string, drivers: string, healthPort = 0) => `edgeId: edge-1
dataDir: ./${name}-data
cloud:
  url: mqtt://127.0.0.1:1
  password: pw
  reconnectMinMs: 1000
health: { host: 127.0.0.1, port: ${healthPort} }
drivers:
${drivers}`;
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const modbus = (device: string) => `  - kind: modbus
    id: mb
    transport: { type: tcp, host: 127.0.0.1, port: 1502 }
    devices:
      - { id: dev-1, unitId: 1, ${device} }
`;
const run = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

function start(config: string) {
  const child = spawn(process.execPath, [BIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exit };
}

describe('village-edge bin', { timeout: 60_000 }, () => {
  it('--version prints the package version and the git commit', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`village-edge 0.1.0 (commit ${commit})\n`);
  });

  const point = (p: string) => `points:\n  - ${p}\n`;
  const profile = (name: string, points: string) =>
    write(`${name}.yaml`, `name: ${name}\nkind: air-quality\n${points}`);
  const cases: [string, string, string][] = [
    [
      'a lowercase byte order',
      `profilePath: ${profile('lower', point('{ name: t, table: holding, address: 0, type: u32, order: cdab }'))}`,
      'lower.yaml: point t: order: ',
    ],
    [
      'overlapping addresses',
      `profilePath: ${profile('overlap', `${point('{ name: a, table: holding, address: 0, type: u32 }')}  - { name: b, table: holding, address: 1, type: u16 }\n`)}`,
      'overlap.yaml: point b: address: overlaps point a at holding address 1',
    ],
    [
      'an unknown key',
      `profilePath: ${profile('scal', point('{ name: t, table: holding, address: 0, type: u16, scal: 0.1 }'))}`,
      'scal.yaml: point t: Unrecognized key: "scal"',
    ],
    [
      'a bit in the input table',
      `profilePath: ${profile('bit', point('{ name: door, table: input, address: 0, type: bit }'))}`,
      'bit.yaml: point door: type: type bit cannot live in table input',
    ],
    [
      'an unknown shipped profile',
      'profile: pm25-sensr',
      'drivers[0].devices[0].profile: pm25-sensr: no shipped profile of that name (shipped: pm25-sensor,',
    ],
  ];
  it.each(cases)(
    '%s: --check and a start both exit 2 naming it, and open nothing',
    (_what, device, message) => {
      const name = `bad-${cases.findIndex((c) => c[1] === device)}`;
      const config = write(`${name}.yaml`, edgeYaml(name, modbus(device)));
      const check = run(['--config', config, '--check']);
      expect(check.stderr).toContain(message);
      expect(check.stderr).toMatch(new RegExp(`^${config}: drivers\\[0\\]\\.devices\\[0\\]\\.profile`));
      expect(check.status).toBe(2);
      const started = run(['--config', config]);
      expect(started.status).toBe(2);
      expect(started.stderr).toBe(check.stderr);
      // Validation comes before the outbox: a failed start leaves no boot behind.
      expect(existsSync(join(dir, `${name}-data`, 'outbox.db'))).toBe(false);
    },
  );

  it('a health port in use: one line naming health.port, exit 2, and no boot counted', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const drivers = '  - { kind: fake, id: f1, devices: 1 }\n';
    const busy = run(['--config', write('busy.yaml', edgeYaml('boot', drivers, port))]);
    blocker.close();
    expect(busy.status).toBe(2);
    expect(busy.stderr).toBe(
      `${join(dir, 'busy.yaml')}: health.port: 127.0.0.1:${port}: already in use by another process (EADDRINUSE)\n`,
    );
    const e = start(write('boot.yaml', edgeYaml('boot', drivers)));
    const ready = await waitFor('edge ready', () => e.lines.find((l) => l.msg === 'edge ready'));
    expect(ready.boot).toBe(1);
    e.child.kill('SIGTERM');
    expect(await e.exit).toBe(0);
  });

  // A driver's own listener in use: found before the outbox opens, not restarted by the supervisor forever.
  const camera = (listen: string) =>
    `  - { kind: camera, id: cam, ${listen}, cameras: [{ id: c1, auth: { type: hmac, secret: s } }] }\n`;
  const sip = (port: number) =>
    `sip: { port: ${port}, bind: 127.0.0.1, realm: "3402000000", serverId: "34020000002000000001", password: pw }`;
  const listeners: [string, 'udp' | 'tcp', (port: number) => string, string][] = [
    [
      'lorawan Semtech UDP',
      'udp',
      (p) => `  - { kind: lorawan, id: lw, port: ${p}, bind: 127.0.0.1 }\n`,
      'drivers[0].port',
    ],
    [
      'NB-IoT CoAP',
      'udp',
      (p) =>
        `  - { kind: nbiot, id: nb, port: ${p}, bind: 127.0.0.1, devices: [{ id: s1, imei: "860000000000001", codec: smoke-detector, key: ${'a'.repeat(32)} }] }\n`,
      'drivers[0].port',
    ],
    [
      'camera HTTP push',
      'tcp',
      (p) => `  - { kind: fake, id: f1, devices: 1 }\n${camera(`http: { port: ${p}, bind: 127.0.0.1 }`)}`,
      'drivers[1].http.port',
    ],
    ['GB/T 28181 SIP', 'udp', (p) => camera(`http: { port: 0 }, ${sip(p)}`), 'drivers[0].sip.port'],
  ];
  it.each(listeners)(
    'a %s port in use: one line naming the driver key and the value, exit 2, no boot',
    async (_what, protocol, drivers, key) => {
      const name = `listen-${listeners.findIndex((l) => l[3] === key && l[0] === _what)}`;
      const blocker = protocol === 'udp' ? createSocket('udp4') : createServer();
      await new Promise<void>((r) =>
        blocker instanceof Server ? blocker.listen(0, '127.0.0.1', r) : blocker.bind(0, '127.0.0.1', r),
      );
      const port = (blocker.address() as AddressInfo).port;
      const config = write(`${name}.yaml`, edgeYaml(name, drivers(port)));
      const r = run(['--config', config]);
      blocker.close();
      expect(r.stderr).toBe(
        `${config}: ${key}: 127.0.0.1:${port}: already in use by another process (EADDRINUSE)\n`,
      );
      expect(r.status).toBe(2);
      expect(existsSync(join(dir, `${name}-data`, 'outbox.db'))).toBe(false);
    },
  );

  it('an invalid health port: one line naming health.port, exit 2', () => {
    const config = write(
      'badport.yaml',
      edgeYaml('badport', '  - { kind: fake, id: f1, devices: 1 }\n', 70_000),
    );
    for (const args of [['--check'], []]) {
      const r = run(['--config', config, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`${config}: health.port: Too big: expected number to be <=65535\n`);
    }
  });

  it('an invalid port in cloud.url: one line naming cloud.url and the value, exit 2', () => {
    const config = write(
      'badurl.yaml',
      edgeYaml('badurl', '  - { kind: fake, id: f1, devices: 1 }\n').replace(
        'mqtt://127.0.0.1:1',
        'mqtt://127.0.0.1:18083x',
      ),
    );
    const r = run(['--config', config, '--check']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `${config}: cloud.url: mqtt://127.0.0.1:18083x: the port must be a number 1-65535 (mqtt://host:port)\n`,
    );
  });

  it('cloud.url and cloud.urls both given, or neither: one line naming the key, exit 2', () => {
    const both = write(
      'bothurls.yaml',
      edgeYaml('bothurls', '  - { kind: fake, id: f1, devices: 1 }\n').replace(
        '  password: pw',
        '  urls: [mqtt://127.0.0.1:2, mqtt://127.0.0.1:3]\n  password: pw',
      ),
    );
    const neither = write(
      'nourls.yaml',
      edgeYaml('nourls', '  - { kind: fake, id: f1, devices: 1 }\n').replace(
        '  url: mqtt://127.0.0.1:1\n',
        '',
      ),
    );
    for (const args of [['--check'], []]) {
      const r = run(['--config', both, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(
        `${both}: cloud.urls: give cloud.url (one broker) or cloud.urls (a list), not both\n`,
      );
      const n = run(['--config', neither, ...args]);
      expect(n.status).toBe(2);
      expect(n.stderr).toBe(
        `${neither}: cloud: needs cloud.url (one broker) or cloud.urls (brokers to fail over between)\n`,
      );
    }
    expect(existsSync(join(dir, 'bothurls-data', 'outbox.db'))).toBe(false);
  });

  it('logs the version first in the shared schema, exports village_build_info, survives SIGHUP', async () => {
    mkdirSync(join(dir, 'hup-data'), { recursive: true });
    const e = start(write('hup.yaml', edgeYaml('hup', '  - { kind: fake, id: f1, devices: 1 }\n')));
    const ready = await waitFor('edge ready', () => e.lines.find((l) => l.msg === 'edge ready'));
    expect(e.lines[0]).toMatchObject({
      msg: 'village-edge starting',
      version: '0.1.0',
      commit,
      svc: 'village-edge',
    });
    for (const l of e.lines) {
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
      expect(l.svc).toBe('village-edge');
      expect(typeof l.msg).toBe('string');
    }
    const url = `http://127.0.0.1:${ready.healthPort}`;
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(
      `village_build_info{version="0.1.0",commit="${commit}"} 1`,
    );
    e.child.kill('SIGHUP');
    const hup = await waitFor('the SIGHUP line', () => e.lines.find((l) => l.signal === 'SIGHUP'));
    expect(hup.msg).toMatch(/^SIGHUP: nothing to reload on the edge/);
    // Still serving: 200, or 503 once the uplink to the closed cloud port reads `unreachable`.
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ edgeId: 'edge-1', boot: 1 });
    expect(e.child.exitCode).toBe(null);
    e.child.kill('SIGTERM');
    expect(await e.exit).toBe(0);
  });
});
