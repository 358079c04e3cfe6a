import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type BinCloud, logLines, spawnBin, startBinCloud, writeCloudConfig } from './http-bin-cloud.js';

const run = promisify(execFile);
/** curl as a browser would send it (headers given), returning status and body. */
async function curl(url: string, headers: string[], data?: string) {
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}'];
  for (const h of headers) args.push('-H', h);
  if (data !== undefined) args.push('--data-binary', data);
  const { stdout } = await run('curl', [...args, url]);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

const COMMAND = JSON.stringify({ device: 'siren-a', action: 'on' });

// Issue 13 finding 9: state-changing routes check Origin, every route checks Host (DNS rebinding),
// and lab mode refuses a non-loopback address unless explicitly allowed, warning on every start.
describe('browser guards (built bin, curl)', { timeout: 60_000 }, () => {
  describe('lab mode (no users)', () => {
    let t: BinCloud;
    beforeAll(async () => {
      t = await startBinCloud({ users: false });
    }, 60_000);
    afterAll(() => t?.stop(), 30_000);

    it('a cross-origin text/plain POST to /api/v1/commands → 403, nothing sent', async () => {
      const r = await curl(
        `${t.base}/api/v1/commands`,
        ['Origin: http://evil.example', 'Content-Type: text/plain'],
        COMMAND,
      );
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).error.code).toBe('cross_origin');
      expect(t.logs().some((l) => l.msg === 'command sent')).toBe(false);
      const site = await curl(
        `${t.base}/api/v1/commands`,
        ['Sec-Fetch-Site: cross-site', 'Content-Type: text/plain'],
        COMMAND,
      );
      expect(site.status).toBe(403);
    });

    it('the same request from the page’s own origin, or from a non-browser client, goes through', async () => {
      const own = await curl(
        `${t.base}/api/v1/commands`,
        [`Origin: ${t.base}`, 'Content-Type: application/json'],
        COMMAND,
      );
      expect(own.status).toBe(202);
      const script = await curl(`${t.base}/api/v1/commands`, ['Content-Type: application/json'], COMMAND);
      expect(script.status).toBe(202);
    });

    it('a foreign Host header (DNS rebinding) → 421 on reads too; localhost and IPs answer', async () => {
      const foreign = await curl(`${t.base}/api/v1/devices`, [`Host: evil.example:${t.httpPort}`]);
      expect(foreign.status).toBe(421);
      expect(JSON.parse(foreign.body).error.code).toBe('unknown_host');
      expect((await curl(`${t.base}/metrics`, ['Host: rebind.evil.example'])).status).toBe(421);
      expect((await curl(`${t.base}/api/v1/devices`, [`Host: localhost:${t.httpPort}`])).status).toBe(200);
      expect((await curl(`${t.base}/api/v1/devices`, [])).status).toBe(200);
    });

    it('warns at warn level that the API is open', () => {
      expect(t.logs()).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: expect.stringContaining('lab mode') }),
      );
    });
  });

  describe('with users', () => {
    let t: BinCloud;
    beforeAll(async () => {
      t = await startBinCloud({ extra: { http: { allowedHosts: ['cloud.example.cn'] } } });
    }, 60_000);
    afterAll(() => t?.stop(), 30_000);

    it('a foreign-Origin text/plain ack with a valid cookie → 403; from its own origin it reaches the route', async () => {
      const cookie = await t.cookie('villageA');
      const url = `${t.base}/api/v1/incidents/inc-1/ack`;
      const foreign = await curl(
        url,
        [`Cookie: ${cookie}`, 'Origin: https://evil.example', 'Content-Type: text/plain'],
        '{}',
      );
      expect(foreign.status).toBe(403);
      const own = await curl(
        url,
        [`Cookie: ${cookie}`, `Origin: ${t.base}`, 'Content-Type: application/json'],
        '{}',
      );
      expect(own.status).toBe(404); // past the guard: no such incident
    });

    it('a configured host name is accepted', async () => {
      expect((await curl(`${t.base}/api/v1/health`, ['Host: cloud.example.cn'])).status).toBe(200);
      expect((await curl(`${t.base}/api/v1/health`, ['Host: other.example.cn'])).status).toBe(421);
    });
  });

  describe('lab mode on a non-loopback address', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cloud-lab-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is refused (exit 2, naming http.host) without http.allowInsecureLab', async () => {
      const r = spawnBin([
        '--config',
        writeCloudConfig(dir, { users: false, extra: { http: { host: '0.0.0.0' } } }),
      ]);
      try {
        // Bounded: a cloud that starts instead of refusing is reported, not waited on for ever.
        const started = waitFor('cloud ready', () => logLines(r).find((l) => l.msg === 'cloud ready'));
        started.catch(() => {});
        const outcome = await Promise.race([r.exit, started.then(() => 'started')]);
        expect(outcome).toBe(2);
        expect(r.stderr.join('')).toContain('http.host: 0.0.0.0 is not a loopback address');
      } finally {
        r.child.kill('SIGKILL');
      }
    });

    it('starts with http.allowInsecureLab: true, warning at warn level', async () => {
      const r = spawnBin([
        '--config',
        writeCloudConfig(dir, { users: false, extra: { http: { host: '0.0.0.0', allowInsecureLab: true } } }),
      ]);
      try {
        await waitFor('cloud ready', () => logLines(r).find((l) => l.msg === 'cloud ready'));
        expect(logLines(r)).toContainEqual(
          expect.objectContaining({ level: 'warn', msg: expect.stringContaining('lab mode') }),
        );
      } finally {
        r.child.kill('SIGTERM');
        await r.exit;
      }
    });

    it('--help documents --insecure-lab', () => {
      const r = spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/--insecure-lab +with no users \(lab mode/);
    });

    it('starts with --insecure-lab (same config as refused above), warning that the API is open', async () => {
      const r = spawnBin([
        '--config',
        writeCloudConfig(dir, { users: false, extra: { http: { host: '0.0.0.0' } } }),
        '--insecure-lab',
      ]);
      try {
        await waitFor('cloud ready', () => logLines(r).find((l) => l.msg === 'cloud ready'));
        expect(logLines(r)).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            msg: expect.stringMatching(/^lab mode: .* open to anyone/),
          }),
        );
      } finally {
        r.child.kill('SIGTERM');
        await r.exit;
      }
    });
  });
});
