import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm test` runs scripts/check-test-deps.mjs first. These run it for real against a PATH that
 * lacks one program, and a Python that cannot see Debian's modules (`-S`: no site-packages).
 */
const CHECK = join(import.meta.dirname, '..', '..', 'scripts', 'check-test-deps.mjs');
const dir = mkdtempSync(join(tmpdir(), 'e2e-deps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH folder holding links to everything on the real PATH except `leaveOut`. */
function pathWithout(leaveOut: string): string {
  const bin = mkdtempSync(join(dir, 'bin-'));
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n === leaveOut) continue;
      try {
        symlinkSync(join(d, n), join(bin, n));
      } catch {
        // an earlier PATH entry already gave this name
      }
    }
  }
  return bin;
}

const run = (env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [CHECK], { env: { ...process.env, ...env }, encoding: 'utf8' });

describe('the test dependency check', () => {
  it('passes on this machine (the install script ran)', () => {
    const r = run({});
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('names the Debian package of a missing program and exits non-zero', () => {
    const r = run({ PATH: pathWithout('socat') });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(
      'missing program socat, for serial pty pairs (Modbus RTU): install Debian package socat',
    );
    expect(lines.filter((l) => l.startsWith('missing '))).toHaveLength(1);
    const sipp = run({ PATH: pathWithout('sipp') });
    expect(sipp.stdout).toMatch(/missing program sipp.*install Debian package sip-tester/);
  });

  it('names python3-serial and python3-pymodbus when the system Python lacks them', () => {
    const python = join(dir, 'python-without-site');
    writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(python, 0o755);
    const r = run({ VILLAGE_TEST_PYTHON: python });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^missing Python module serial \(python3 -c 'import serial'\).*install Debian package python3-serial$/m,
    );
    expect(r.stdout).toMatch(/install Debian package python3-pymodbus$/m);
  });
});
