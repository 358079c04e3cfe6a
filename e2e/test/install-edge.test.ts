import { spawnSync } from 'node:child_process';
import { constants, accessSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The bins from a checkout, without the registry: `npm run edge|cloud|sim -- ...` at the root,
 * and scripts/install-edge.sh, which puts a `village-edge` launcher where the systemd unit runs
 * it. The script is run for real into a temp DESTDIR, and the installed launcher executed.
 */
const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'e2e-install-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const commit = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], {
  cwd: repo,
  encoding: 'utf8',
}).stdout.trim();
const unitIn = (text: string, key: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).split(' ')[0]);

describe('bins from the checkout', () => {
  it.each([
    ['edge', 'village-edge'],
    ['cloud', 'village-cloud'],
    ['sim', 'village-sim'],
  ])('npm run %s -- --version', (script, bin) => {
    const r = spawnSync('npm', ['run', '-s', script, '--', '--version'], { cwd: repo, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${bin} 0.1.0 (commit ${commit})\n`);
  });

  it('install-edge.sh puts the launcher where the unit runs it, and it works', () => {
    const destdir = join(dir, 'root');
    const r = spawnSync('bash', [join(repo, 'scripts', 'install-edge.sh')], {
      env: { ...process.env, DESTDIR: destdir },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    // The shipped unit and the default install agree on the path.
    const shipped = readFileSync(join(repo, 'edge-agent', 'systemd', 'village-edge.service'), 'utf8');
    expect(unitIn(shipped, 'ExecStart')).toEqual(['/usr/local/bin/village-edge']);
    expect(unitIn(shipped, 'ExecStartPre')).toEqual(['/usr/local/bin/village-edge']);
    const installedUnit = readFileSync(
      join(destdir, 'etc', 'systemd', 'system', 'village-edge.service'),
      'utf8',
    );
    expect(installedUnit).toBe(shipped);

    const launcher = join(destdir, 'usr', 'local', 'bin', 'village-edge');
    accessSync(launcher, constants.X_OK);
    // Run from elsewhere: the commit is the one the script recorded in the launcher.
    const version = spawnSync(launcher, ['--version'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toBe(`village-edge 0.1.0 (commit ${commit})\n`);

    const config = join(dir, 'edge.yaml');
    writeFileSync(config, 'edgeId: e1\ncloud: { url: "mqtt://127.0.0.1:1883", password: pw }\n');
    const check = spawnSync(launcher, ['--config', config, '--check'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toBe(`${config}: ok\n`);
  });

  it('install-edge.sh honours PREFIX in both the launcher path and the unit', () => {
    const destdir = join(dir, 'opt-root');
    const r = spawnSync('bash', [join(repo, 'scripts', 'install-edge.sh')], {
      env: { ...process.env, DESTDIR: destdir, PREFIX: '/opt/village' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const unit = readFileSync(join(destdir, 'etc', 'systemd', 'system', 'village-edge.service'), 'utf8');
    expect(unitIn(unit, 'ExecStart')).toEqual(['/opt/village/bin/village-edge']);
    accessSync(join(destdir, 'opt', 'village', 'bin', 'village-edge'), constants.X_OK);
  });
});
