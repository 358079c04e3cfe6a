import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * An operator's first day: `npm start`, Ctrl-C, `npm test`, `npm start` again. The demo folder
 * sits where `npm start` puts it, inside the checkout (git-ignored), so the lint check of
 * `npm test` sees it; the scenario day is played in two seconds.
 */
const repo = join(import.meta.dirname, '..', '..');
const DEMO = join(repo, 'simulators', 'dist', 'bin', 'demo.js');
const dir = join(repo, '.demo', `e2e-rerun-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runDemoDay(): Promise<string> {
  const demo = spawn(process.execPath, [DEMO, '--dir', dir, '--http-port', '0', '--compression', '43200'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  createInterface({ input: demo.stdout! }).on('line', (l) => out.push(l));
  const err: string[] = [];
  demo.stderr!.on('data', (b: Buffer) => err.push(b.toString()));
  const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
  try {
    return await waitFor(
      'the scenario day to end',
      () => {
        if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${err.join('')}`);
        return out.find((l) => l.startsWith('Scenario day done:'));
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
  } finally {
    demo.kill('SIGINT');
    expect(await exited, err.join('')).toBe(0);
  }
}

describe('npm start, twice', () => {
  it('starts clean every time: the second run has no replay errors, and lint passes in between', async () => {
    const first = await runDemoDay();
    expect(first).toMatch(/ 0 errors\./);
    expect(existsSync(join(dir, 'cloud', 'cloud.yaml'))).toBe(true);

    const lint = spawnSync(join(repo, 'node_modules', '.bin', 'biome'), ['check', '.'], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);

    const second = await runDemoDay();
    expect(second).toMatch(/ 0 errors\./);
  }, 300_000);

  it('refuses an invalid --http-port with one line naming the option, exit 2', () => {
    const r = spawnSync(process.execPath, [DEMO, '--dir', dir, '--http-port', '18086x'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'village-demo: --http-port 18086x: must be a port number 0-65535 (0 = any free port)',
    ]);
  });
});
