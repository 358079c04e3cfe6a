import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One source of truth (issue 19): the id pattern lives in @village/protocol, the plumbing every bin
 * carries in @village/service-kit, the rules' option schemas in @village/rules. This scan of every
 * package's src/ finds a copy someone pastes back in.
 */
const repo = join(import.meta.dirname, '..', '..');
const PACKAGES = readdirSync(repo).filter((d) => {
  try {
    return statSync(join(repo, d, 'package.json')).isFile() && statSync(join(repo, d, 'src')).isDirectory();
  } catch {
    return false;
  }
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}
const files = PACKAGES.flatMap((pkg) => sources(join(repo, pkg, 'src'))).map((p) => ({
  path: relative(repo, p),
  text: readFileSync(p, 'utf8'),
}));

/** Files outside `home` whose text matches `pattern`. */
const copiesOf = (pattern: RegExp, home: string) =>
  files.filter((f) => !f.path.startsWith(home) && pattern.test(f.text)).map((f) => f.path);

describe('one copy of each shared contract', () => {
  it('scans the packages', () => {
    expect(PACKAGES).toEqual(
      expect.arrayContaining(['protocol', 'rules', 'service-kit', 'edge-agent', 'cloud-ingest']),
    );
    expect(files.length).toBeGreaterThan(100);
  });

  it('the id pattern is declared only in protocol (ID_PATTERN)', () => {
    expect(copiesOf(/\/\^\[A-Za-z0-9\]\[A-Za-z0-9\._:-\]\{0,127\}\$\//, 'protocol/src/limits.ts')).toEqual(
      [],
    );
  });

  it('the bins’ plumbing lives only in service-kit', () => {
    const home = 'service-kit/src/';
    for (const pattern of [
      /class ConfigError\b/,
      /class PortError\b/,
      /class BackupError\b/,
      /function createLogger\b/,
      /'rev-parse', '--short=12'/,
      /\.backup\(/,
      // A ${ENV} expansion inside strings (global replace). Whole-value `${VAR}` secrets
      // (notify-config.ts, device-drivers' secret-ref.ts) are another rule: empty counts as unset.
      /\\\$\\\{\(\[A-Z[^/\n]*\/g/,
      /function describeIssues\b/,
    ]) {
      expect(copiesOf(pattern, home), String(pattern)).toEqual([]);
    }
  });

  it('the rules’ option schemas and defaults are not written again in the cloud', () => {
    const cloud = files.filter((f) => f.path.startsWith('cloud-ingest/src/rules-runtime/'));
    for (const f of cloud) {
      expect(f.text, f.path).not.toMatch(/ackDeadlineMs: z\.|correlationWindowMs: |vitalsHoldMs: /);
    }
  });
});
