import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The lint check of `npm test` (biome check .) skips what git ignores, so demo state or test
 * leftovers in ignored folders never fail it. The junk file would fail both format and lint.
 */
const repo = join(import.meta.dirname, '..', '..');
const junkDir = join(repo, '.demo', 'lint-probe');
afterEach(() => rmSync(junkDir, { recursive: true, force: true }));

const biome = (...paths: string[]) =>
  spawnSync(join(repo, 'node_modules', '.bin', 'biome'), ['check', ...paths], {
    cwd: repo,
    encoding: 'utf8',
  });

describe('biome check and .gitignore', () => {
  it('does not check a git-ignored file that would fail', () => {
    mkdirSync(junkDir, { recursive: true });
    writeFileSync(join(junkDir, 'junk.ts'), 'var   x = 1;;\ndebugger\n');
    expect(spawnSync('git', ['check-ignore', '-q', join(junkDir, 'junk.ts')], { cwd: repo }).status).toBe(0);
    // Checked through the repository root, as `npm test` does ('.'), limited to the folder for speed.
    const r = biome('.demo');
    expect(r.stdout + r.stderr).not.toMatch(/junk\.ts/);
  });
});
