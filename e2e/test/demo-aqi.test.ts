import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 16, through real processes: `npm start`'s demo plays its day compressed and stamped now,
 * so no clock hour would complete; its PM sensors first send the last clock hours as historical
 * backlog (simulated past hours), and the cloud publishes their hourly AQI, queryable at once.
 */
const DEMO = join(import.meta.dirname, '..', '..', 'simulators', 'dist', 'bin', 'demo.js');
const dir = mkdtempSync(join(tmpdir(), 'e2e-demo-aqi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  station: string;
  start: number;
  end: number;
  aqi: number | null;
  primary: string[];
}

describe('the demo publishes hourly AQI', () => {
  it('answers a published hour for each demo station soon after start', { timeout: 180_000 }, async () => {
    const demo = spawn(process.execPath, [DEMO, '--dir', dir, '--http-port', '0', '--compression', '4320'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    createInterface({ input: demo.stdout! }).on('line', (l) => out.push(l));
    const err: string[] = [];
    demo.stderr!.on('data', (b: Buffer) => err.push(b.toString()));
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    try {
      const url = await waitFor('the demo to print its URL', () => {
        if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${err.join('')}`);
        return out.map((l) => /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(l)?.[1]).find(Boolean);
      });
      const password = out.map((l) => /login: +officer \/ (\S+)/.exec(l)?.[1]).find(Boolean);
      const login = await fetch(`${url}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'officer', password }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const hourly = async (station: string) => {
        const r = await fetch(`${url}/api/v1/aqi/hourly?station=${station}&limit=5`, { headers: { cookie } });
        expect(r.status).toBe(200);
        return ((await r.json()) as { aqi: Row[] }).aqi;
      };
      const thisHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      for (const station of ['s1', 's2']) {
        const rows = await waitFor(
          `a published hour of ${station}`,
          async () => {
            const r = await hourly(station);
            return r.some((x) => x.aqi !== null) ? r : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        const row = rows.find((x) => x.aqi !== null)!;
        // A complete clock hour of the past, on the clean-day baseline (PM2.5 about 28: good or excellent).
        expect(row.station).toBe(station);
        expect(row.end - row.start).toBe(3_600_000);
        expect(row.end).toBeLessThanOrEqual(thisHour);
        expect(row.start).toBeGreaterThanOrEqual(thisHour - 3 * 3_600_000);
        expect(row.aqi).toBeGreaterThan(0);
        expect(row.aqi).toBeLessThanOrEqual(100);
      }
      // The demo says these are simulated past hours.
      expect(out.join('\n')).toContain('Simulated past hours');
    } finally {
      demo.kill('SIGINT');
      expect(await exited, err.join('')).toBe(0);
    }
  });
});
