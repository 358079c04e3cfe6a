import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTestCa } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICERS } from './auth-cloud.js';
import { type BinCloud, spawnBin, startBinCloud, writeCloudConfig } from './http-bin-cloud.js';

const run = promisify(execFile);
/** curl's result: exit code and stdout (curl exits non-zero on a failed handshake). */
const curl = (args: string[]) =>
  run('curl', ['-sS', ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );

// Issue 13 finding 6 (HTTP part): the API serves HTTPS with the configured certificate and key,
// and the session cookie is Secure then. Certificates from a test CA made with openssl; curl connects.
describe('HTTPS API (built bin, openssl CA, curl)', { timeout: 60_000 }, () => {
  let dir: string;
  let t: BinCloud;
  let ca: ReturnType<typeof makeTestCa>;
  let otherCa: ReturnType<typeof makeTestCa>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloud-https-'));
    ca = makeTestCa(dir, 'test-ca');
    otherCa = makeTestCa(dir, 'other-ca');
    ca.issue('server', 'server', 'server', { altNames: 'IP:127.0.0.1,DNS:localhost' });
    t = await startBinCloud({
      dir,
      scheme: 'https',
      extra: { http: { tls: { cert: './server.pem', key: './server.key' } } },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('curl trusting the test CA gets a verified handshake and an answer', async () => {
    const r = await curl([
      '--cacert',
      ca.cert,
      '-w',
      '%{http_code} %{ssl_verify_result}',
      '-o',
      '/dev/null',
      `${t.base}/api/v1/health`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('200 0');
    expect(t.logs().find((l) => l.msg === 'cloud ready')).toMatchObject({ https: true });
  });

  it('curl trusting another CA refuses the certificate (exit 60)', async () => {
    const r = await curl(['--cacert', otherCa.cert, `${t.base}/api/v1/health`]);
    expect(r.code).toBe(60);
    expect(r.stderr).toMatch(/certificate/i);
  });

  it('plain HTTP to the HTTPS port gets no API answer', async () => {
    const r = await curl([
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${t.httpPort}/api/v1/health`,
    ]);
    expect(r.stdout).not.toBe('200');
  });

  it('the session cookie is Secure over HTTPS (secureCookie defaults to on with TLS)', async () => {
    const r = await curl([
      '--cacert',
      ca.cert,
      '-i',
      '-H',
      'content-type: application/json',
      '-H',
      `Origin: ${t.base}`,
      '--data',
      JSON.stringify({ username: 'villageA', password: OFFICERS.villageA[2] }),
      `${t.base}/api/v1/login`,
    ]);
    const cookie = r.stdout.split('\r\n').find((l) => l.toLowerCase().startsWith('set-cookie:'));
    expect(cookie).toMatch(/village_session=.*;\s*Secure/i);
    expect(cookie).toMatch(/HttpOnly/i);
    // The page's own origin is https://…: the same host over plain http is another origin.
    const downgraded = await curl([
      '--cacert',
      ca.cert,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/json',
      '-H',
      `Origin: http://127.0.0.1:${t.httpPort}`,
      '--data',
      JSON.stringify({ username: 'villageA', password: OFFICERS.villageA[2] }),
      `${t.base}/api/v1/login`,
    ]);
    expect(downgraded.stdout).toBe('403');
  });

  it('a missing certificate file is a config error naming the key (exit 2)', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'cloud-https-bad-'));
    try {
      const path = writeCloudConfig(bad, {
        extra: { http: { tls: { cert: './nope.pem', key: './nope.key' } } },
      });
      const r = spawnBin(['--config', path]);
      expect(await r.exit).toBe(2);
      expect(r.stderr.join('')).toContain('http.tls.cert: cannot read');
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
