import { join } from 'node:path';
import { BackupError, backupDatabase, restoreDatabase } from '@village/service-kit';
import { Command } from 'commander';
import { BUILD_INFO } from '../build-info.js';

/** Exit 2 for usage and backup refusals (non-empty target, not a backup, corrupt copy). */
const EXIT_USAGE = 2;

/**
 * `village-edge backup --data-dir D --to DIR` and `village-edge restore --from DIR --data-dir D
 * [--force]` (docs/operations.md). The data folder is given outright, not through edge.yaml: a
 * backup must not need the drivers' files to load.
 */
export async function runBackupCli(argv: string[]): Promise<never> {
  const program = new Command()
    .name('village-edge')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));
  program
    .command('backup')
    .description('copy outbox.db consistently while the edge runs into a new folder')
    .requiredOption('--data-dir <dir>', 'the edge data folder (dataDir of edge.yaml)')
    .requiredOption('--to <dir>', 'an empty or new folder for the copy and its manifest.json')
    .action(async (o: { dataDir: string; to: string }) => {
      const manifest = await backupDatabase({
        source: join(o.dataDir, 'outbox.db'),
        toDir: o.to,
        kind: 'village-edge',
        version: BUILD_INFO.version,
      });
      process.stdout.write(`${JSON.stringify({ backup: o.to, ...manifest })}\n`);
    });
  program
    .command('restore')
    .description('put an outbox backup back into a data folder (the edge must be stopped)')
    .requiredOption('--from <dir>', 'a folder written by `village-edge backup`')
    .requiredOption('--data-dir <dir>', 'the data folder to restore into (must be empty unless --force)')
    .option('--force', 'replace the outbox.db already there')
    .action((o: { from: string; dataDir: string; force?: boolean }) => {
      const manifest = restoreDatabase({
        fromDir: o.from,
        dataDir: o.dataDir,
        kind: 'village-edge',
        force: o.force === true,
      });
      process.stdout.write(`${JSON.stringify({ restored: o.dataDir, ...manifest })}\n`);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    process.exit(0);
  } catch (err) {
    if (err instanceof BackupError) {
      process.stderr.write(`village-edge: ${err.code}: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}
