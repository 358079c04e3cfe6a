import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './http-bin-cloud.js';

const run = promisify(execFile);
const UNIT = readFileSync(join(import.meta.dirname, '..', 'systemd', 'village-cloud.service'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'cloud-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The unit with /usr/bin/village-cloud replaced by the built bin (this machine has no installed package). */
function localUnit(): string {
  const path = join(dir, 'village-cloud.service');
  writeFileSync(path, UNIT.replaceAll('/usr/bin/village-cloud', `${process.execPath} ${BIN}`));
  return path;
}

// Issue 17: the cloud's systemd unit, checked by systemd itself.
describe('systemd/village-cloud.service', () => {
  it('passes systemd-analyze verify', async () => {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', localUnit()]);
    expect(`${stdout}${stderr}`).toBe('');
  });

  it('is hardened: systemd-analyze security rates it OK, and a bad config is not restarted', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', localUnit()]);
    const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(stdout)?.[1]);
    expect(exposure).toBeLessThan(3);
    for (const line of [
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/village-cloud',
      'PrivateTmp=true',
      'ProtectHome=true',
      'RestartPreventExitStatus=2',
    ])
      expect(UNIT.split('\n')).toContain(line);
  });
});
