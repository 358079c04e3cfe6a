import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Which build is running, for `--version`: the
 * package version, and the git commit when known (VILLAGE_COMMIT, which scripts/install-edge.sh
 * writes into the launcher, or the checkout the bin runs from; `unknown` otherwise).
 */
export interface BuildInfo {
  version: string;
  commit: string;
}

/** The package folder, from src/ or dist/ alike. */
const packageDir = fileURLToPath(new URL('../', import.meta.url));

function readBuildInfo(): BuildInfo {
  const { version } = JSON.parse(readFileSync(`${packageDir}package.json`, 'utf8')) as { version: string };
  let commit = process.env.VILLAGE_COMMIT ?? '';
  if (!commit) {
    const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: packageDir,
      encoding: 'utf8',
      timeout: 2_000,
    });
    commit = git.status === 0 ? git.stdout.trim() : 'unknown';
  }
  return { version, commit };
}

export const BUILD_INFO: BuildInfo = readBuildInfo();

export const versionLine = (bin: string, info: BuildInfo = BUILD_INFO) =>
  `${bin} ${info.version} (commit ${info.commit})`;
