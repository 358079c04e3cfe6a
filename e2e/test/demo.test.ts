import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` runs this bin: the cloud, two village edges and every simulated device of the demo
 * scenario. The test plays the scenario day in 20 s, waits for readings of every protocol, the
 * fall and pollution alerts and an incident through the API (logged in as the printed officer),
 * then stops it with SIGINT and checks by pid that every process it started is gone.
 */
const DEMO = join(import.meta.dirname, '..', '..', 'simulators', 'dist', 'bin', 'demo.js');
const dir = mkdtempSync(join(tmpdir(), 'e2e-demo-'));
afterAll(() => {
  if (!process.env.KEEP_E2E_DIRS) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the one-command demo', () => {
  it(
    'starts, shows readings, alerts and an incident, and stops cleanly on SIGINT',
    { timeout: 180_000 },
    async () => {
      const started = Date.now();
      const demo = spawn(
        process.execPath,
        [DEMO, '--dir', dir, '--http-port', '0', '--compression', '4320'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const out: string[] = [];
      createInterface({ input: demo.stdout! }).on('line', (l) => out.push(l));
      const errText: string[] = [];
      demo.stderr!.on('data', (b: Buffer) => errText.push(b.toString()));
      const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
      try {
        const url = await waitFor('the demo to print its URL', () =>
          out.map((l) => /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(l)?.[1]).find(Boolean),
        );
        // Issue 8: the demo starts in under 30 s on a 2-core machine.
        expect(Date.now() - started).toBeLessThan(30_000);
        const password = out.map((l) => /login: +officer \/ (\S+)/.exec(l)?.[1]).find(Boolean);
        expect(password).toBeTruthy();

        const login = await fetch(`${url}/api/v1/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'officer', password }),
        });
        expect(login.status).toBe(200);
        const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
        const api = async <T>(path: string) => {
          const r = await fetch(`${url}/api/v1${path}`, { headers: { cookie } });
          if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
          return (await r.json()) as T;
        };
        expect((await fetch(`${url}/api/v1/latest`)).status).toBe(401);

        // Readings from every protocol's devices: Modbus (v1-air), LoRaWAN (v1-lora-air, v1-band-02), NB-IoT (v1-smoke-hall, v1-band-01).
        await waitFor(
          'readings of every protocol',
          async () => {
            const { latest } = await api<{ latest: { device: string }[] }>('/latest');
            const devices = new Set(latest.map((l) => l.device));
            return [
              'v1-air',
              'v1-weather',
              'v1-lora-air',
              'v1-band-02',
              'v1-smoke-hall',
              'v1-band-01',
              'v2-air',
            ].every((d) => devices.has(d));
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        // The camera reports through ISAPI: the night intrusion is a device event.
        await waitFor('the intrusion event', async () => {
          const { events } = await api<{ events: { device: string; type: string }[] }>(
            '/events?type=intrusion',
          );
          return events.some((e) => e.device === 'v1-cam-gate');
        });
        const alerts = await waitFor(
          'the fall and pollution alerts',
          async () => {
            const { alerts } = await api<{ alerts: { rule: string; person: string | null }[] }>('/alerts');
            const fall = alerts.some((a) => a.rule === 'elder.fall' && a.person === 'p-0001');
            const pm = alerts.some((a) => a.rule === 'pm25-high');
            return fall && pm ? alerts : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        expect(alerts.length).toBeGreaterThanOrEqual(2);
        const { incidents } = await waitFor('an incident', async () => {
          const r = await api<{ incidents: { person: string | null; severity: string }[] }>('/incidents');
          return r.incidents.some((i) => i.person === 'p-0001') ? r : undefined;
        });
        expect(incidents.every((i) => i.severity === 'critical')).toBe(true);
      } finally {
        const pidFile = join(dir, 'demo-pids.json');
        const pids = existsSync(pidFile)
          ? (JSON.parse(readFileSync(pidFile, 'utf8')) as { children: number[] })
          : { children: [] };
        demo.kill('SIGINT');
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
        expect(code, errText.join('')).toBe(0);
        await waitFor('every child process to be gone', () => pids.children.every((p) => !alive(p)), {
          timeoutMs: 15_000,
        });
        expect(alive(demo.pid!)).toBe(false);
      }
    },
  );
});
