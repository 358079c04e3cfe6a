import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Gauge, type Registry } from 'prom-client';

/**
 * Which build is running, for `--version`, the first log line and `village_build_info`: the
 * package version, and the git commit when known (VILLAGE_COMMIT, which scripts/install-edge.sh
 * writes into the launcher, or the checkout the bin runs from; `unknown` otherwise).
 */
export interface BuildInfo {
  version: string;
  commit: string;
}

/**
 * Reads the build info of the package in `packageDir` (its folder, holding package.json): each
 * bin passes its own, `new URL('../', import.meta.url)` from its src/ or dist/ alike.
 */
export function readBuildInfo(packageDir: URL | string, env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const dir = typeof packageDir === 'string' ? packageDir : fileURLToPath(packageDir);
  const { version } = JSON.parse(readFileSync(`${dir.replace(/\/?$/, '/')}package.json`, 'utf8')) as {
    version: string;
  };
  let commit = env.VILLAGE_COMMIT ?? '';
  if (!commit) {
    const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 2_000,
    });
    commit = git.status === 0 ? git.stdout.trim() : 'unknown';
  }
  return { version, commit };
}

export const versionLine = (bin: string, info: BuildInfo) => `${bin} ${info.version} (commit ${info.commit})`;

/** `village_build_info{version,commit} 1`, the Prometheus convention for labelling a build. */
export function registerBuildInfo(registry: Registry, info: BuildInfo): void {
  new Gauge({
    name: 'village_build_info',
    help: 'Build running: package version and git commit, always 1',
    labelNames: ['version', 'commit'],
    registers: [registry],
  }).set(info, 1);
}
