import { join } from 'node:path';
import { backupDatabase, restoreDatabase } from '@village/service-kit';
import type { Command } from 'commander';
import { BUILD_INFO } from '../build-info.js';
import { loadConfig } from '../config.js';
import { CLOUD_DB_FILE } from '../store/open-database.js';

/** `village-cloud backup` and `restore` (docs/operations.md); BackupError and ConfigError exit 2. */
export function addBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('copy cloud.db consistently while the cloud runs (SQLite online backup) into a new folder')
    .requiredOption('-c, --config <file>', 'cloud.yaml (its dataDir is backed up)')
    .requiredOption('--to <dir>', 'an empty or new folder for the copy and its manifest.json')
    .action(async (opts: { config: string; to: string }) => {
      const config = loadConfig(opts.config);
      const manifest = await backupDatabase({
        source: join(config.dataDir, CLOUD_DB_FILE),
        toDir: opts.to,
        kind: 'village-cloud',
        version: BUILD_INFO.version,
      });
      process.stdout.write(`${JSON.stringify({ backup: opts.to, ...manifest })}\n`);
    });
  program
    .command('restore')
    .description('put a backup back into a data folder (the cloud must be stopped)')
    .requiredOption('--from <dir>', 'a folder written by `village-cloud backup`')
    .requiredOption('--data-dir <dir>', 'the data folder to restore into (must be empty unless --force)')
    .option('--force', 'replace the cloud.db already in the data folder')
    .action((opts: { from: string; dataDir: string; force?: boolean }) => {
      const manifest = restoreDatabase({
        fromDir: opts.from,
        dataDir: opts.dataDir,
        kind: 'village-cloud',
        force: opts.force === true,
      });
      process.stdout.write(`${JSON.stringify({ restored: opts.dataDir, ...manifest })}\n`);
    });
}
