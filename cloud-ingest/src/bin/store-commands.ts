import { ConfigError } from '@village/service-kit';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { migrateToPostgres } from '../shared-store/migrate-to-postgres.js';

/**
 * `village-cloud store migrate --config <cloud.yaml> --from <dataDir>`: from one host (SQLite,
 * no `store:`) to several (docs/scaling.md "From one host to several"). The config is the new
 * hosts' (`store.kind: postgres`); `--from` the stopped single-host cloud's data folder. Prints
 * what it copied as one JSON line; StoreMigrateError and ConfigError exit 2.
 */
export function addStoreCommands(program: Command): void {
  const store = program.command('store').description('the shared store of several hosts (PostgreSQL)');
  store
    .command('migrate')
    .description("copy a stopped single-host cloud's cloud.db state into an empty PostgreSQL store")
    .requiredOption('-c, --config <file>', 'cloud.yaml of the new hosts (store.kind: postgres)')
    .requiredOption('--from <dir>', "the single-host cloud's data folder (its cloud.db; the cloud stopped)")
    .action(async (opts: { config: string; from: string }) => {
      const config = loadConfig(opts.config);
      if (config.store.kind !== 'postgres')
        throw new ConfigError(
          `${opts.config}: store.kind: must be postgres to migrate into (it is ${config.store.kind})`,
        );
      const copied = await migrateToPostgres({ fromDataDir: opts.from, url: config.store.url });
      process.stdout.write(`${JSON.stringify({ migrated: opts.from, copied })}\n`);
    });
}
