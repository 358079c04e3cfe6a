import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashPassword, verifyPassword } from '../src/password-hash.js';
import { REGISTRY, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { BIN, type Run, lines, runBin } from './run-cloud-bin.js';

/**
 * The cloud as an operator meets it, through the built bin: --version, the log schema, build info
 * in /metrics, --check, errors naming the file given with --config, SIGHUP, hash-password on a terminal.
 */
const commit = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

describe('village-cloud for an operator', { timeout: 60_000 }, () => {
  let dir: string;
  const running: Run[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloud-operator-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
  });
  afterAll(() => {
    for (const r of running) r.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const writeConfig = (name: string, config: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, stringify(config));
    return path;
  };
  const start = async (config: string, extra: string[] = []) => {
    const r = runBin(['--config', config, ...extra]);
    running.push(r);
    const ready = await waitFor('cloud ready', () => lines(r).find((l) => l.msg === 'cloud ready'));
    return { r, ready };
  };

  it('--version prints the package version and the git commit', async () => {
    expect(commit).toMatch(/^[0-9a-f]{12}$/);
    const r = runBin(['--version']);
    expect(await r.exit).toBe(0);
    expect(r.stdout.join('')).toBe(`village-cloud 0.1.0 (commit ${commit})\n`);
  });

  it('logs the version first, in the shared schema, and exports village_build_info', async () => {
    const { r, ready } = await start(
      writeConfig('schema.yaml', { dataDir: './schema-data', mqtt: { port: 0 }, http: { port: 0 } }),
    );
    const all = lines(r);
    expect(all[0]).toMatchObject({
      msg: 'village-cloud starting',
      version: '0.1.0',
      commit,
      svc: 'village-cloud',
    });
    for (const l of all) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(['level', 'time', 'svc', 'msg']));
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(LEVELS).toContain(l.level);
      expect(l).not.toHaveProperty('service');
    }
    const metrics = await (await fetch(`http://127.0.0.1:${ready.httpPort}/metrics`)).text();
    expect(metrics).toContain(`village_build_info{version="0.1.0",commit="${commit}"} 1`);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('log.format: pretty writes lines for a terminal, not JSON', async () => {
    const r = runBin([
      '--config',
      writeConfig('pretty.yaml', {
        dataDir: './pretty-data',
        mqtt: { port: 0 },
        http: { port: 0 },
        log: { format: 'pretty' },
      }),
    ]);
    running.push(r);
    await waitFor('cloud ready, pretty', () => r.stdout.join('').includes('cloud ready'));
    const first = r.stdout.join('').split('\n')[0]!;
    expect(first).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO \(\d+\): village-cloud starting$/,
    );
    expect(r.stdout.join('')).toContain('    svc: "village-cloud"');
    expect(lines(r)).toEqual([]);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('SIGHUP reloads log.level from the config file, says so, and keeps running', async () => {
    const cfg = {
      dataDir: './hup-data',
      registry: './registry.yaml',
      mqtt: { port: 0 },
      http: { port: 0 },
      edges: [{ id: 'edge-1', passwordHash: hashPassword('edge-secret') }],
      log: { level: 'info' },
    };
    const path = writeConfig('hup.yaml', cfg);
    const { r, ready } = await start(path);
    const edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqttPort}`, {
      protocolVersion: 4,
      username: 'edge-1',
      password: 'edge-secret',
      reconnectPeriod: 0,
    });
    try {
      const acks = await collectAcks(edge, 'edge-1');
      await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 3));
      await waitForAck(acks, 1);
      // 'batch committed' is a debug line: not written at info.
      expect(lines(r).some((l) => l.msg === 'batch committed')).toBe(false);

      writeConfig('hup.yaml', { ...cfg, log: { level: 'debug' } });
      r.child.kill('SIGHUP');
      const reload = await waitFor('the reload line', () => lines(r).find((l) => l.signal === 'SIGHUP'));
      expect(reload).toMatchObject({ level: 'info', from: 'info', to: 'debug' });
      expect(reload.msg).toMatch(/^SIGHUP: reloaded log\.level/);

      await publishBatch(edge, 'edge-1', makeBatch('edge-1', 2, 3));
      await waitForAck(acks, 2);
      await waitFor('the debug line at the new level', () =>
        lines(r).find((l) => l.msg === 'batch committed' && l.seq === 2),
      );
      // A broken config on SIGHUP is reported; the cloud runs on.
      writeFileSync(path, 'log: { level: loud }\n');
      r.child.kill('SIGHUP');
      await waitFor('the refused reload', () =>
        lines(r).find((l) => l.signal === 'SIGHUP' && l.level === 'warn'),
      );
      expect(r.child.exitCode).toBe(null);
      const health = await fetch(`http://127.0.0.1:${ready.httpPort}/api/v1/health`);
      expect(health.status).toBe(200);
    } finally {
      await edge.endAsync();
    }
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('--check validates config, registry, users and sink; exit 0 or 2 with the file named as given', async () => {
    const good = runBin([
      '--config',
      writeConfig('good.yaml', { registry: './registry.yaml', users: [], mqtt: { port: 0 } }),
      '--check',
    ]);
    expect(await good.exit).toBe(0);
    expect(good.stdout.join('')).toMatch(
      /good\.yaml: ok \(registry: 1 counties, 1 people; 0 edges; 0 users; sink: sqlite; store: sqlite\)/,
    );

    const user = {
      username: 'li',
      passwordHash: hashPassword('x'),
      role: 'county',
      place: 'c9',
      name: '李',
    };
    const cu2 = writeConfig('cu2.yaml', {
      registry: './registry.yaml',
      users: [user],
      mqtt: { port: 0 },
      http: { port: 0 },
    });
    for (const args of [['--check'], []]) {
      const r = runBin(['--config', cu2, ...args]);
      running.push(r);
      expect(await r.exit).toBe(2);
      expect(r.stderr.join('')).toBe('cu2.yaml: users.0.place: no county c9 in registry.yaml\n');
    }

    const sink = runBin([
      '--config',
      writeConfig('sink.yaml', { sink: { kind: 'influx', url: 'not a url' } }),
      '--check',
    ]);
    expect(await sink.exit).toBe(2);
    expect(sink.stderr.join('')).toMatch(/^sink\.yaml: sink\.url: /);

    const reg = runBin(['--config', writeConfig('reg.yaml', { registry: './none.yaml' }), '--check']);
    expect(await reg.exit).toBe(2);
    expect(reg.stderr.join('')).toMatch(/^none\.yaml: /);
  });

  it('hash-password reads stdin when it is not a terminal', async () => {
    const r = runBin(['hash-password'], 'pipe pw\n');
    expect(await r.exit).toBe(0);
    expect(await verifyPassword('pipe pw', r.stdout.join('').trim())).toBe(true);
  });

  it('hash-password on a terminal prompts twice and never echoes the password', async () => {
    // A real pty (python3's pty module): the bin sees a terminal on stdin, stdout and stderr.
    const driver = `
import os, pty, sys, json
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], sys.argv[2], 'hash-password'])
out = b''
def until(s):
    global out
    while s not in out:
        chunk = os.read(fd, 1024)
        if not chunk: raise SystemExit('eof before ' + s.decode())
        out += chunk
until(b'Password: ')
os.write(fd, b'typed-s3cret\\r')
until(b'Again: ')
os.write(fd, b'typed-s3cret\\r')
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk: break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({'out': out.decode(), 'code': os.waitstatus_to_exitcode(status)}))
`;
    const py = spawnSync('/usr/bin/python3', ['-c', driver, process.execPath, BIN], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(py.status, py.stderr).toBe(0);
    const { out, code } = JSON.parse(py.stdout) as { out: string; code: number };
    expect(code).toBe(0);
    expect(out).not.toContain('typed-s3cret');
    const hash = /scrypt\$\S+/.exec(out)?.[0];
    expect(hash).toBeDefined();
    expect(await verifyPassword('typed-s3cret', hash!)).toBe(true);
  });
});
