import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { loadRegistry } from '../registry-file.js';
import { migrateCloudDb } from '../store/cloud-migrations.js';
import { openDatabase } from '../store/open-database.js';
import { exportRegistry, importRegistry } from '../store/registry-import.js';
import { createRegistrySchema } from '../store/registry-store.js';

/**
 * `village-cloud registry import FILE` and `registry export`: registry.yaml in and out of the
 * store (cloud.db of the config's dataDir). Import replaces the registry in one transaction and
 * is audited; importing the same file again changes nothing. A running cloud sees an import only
 * after a restart: while it runs, use the admin API (PUT /api/v1/admin/registry). A bad file is a
 * ConfigError naming file and key (exit 2).
 */
export function addRegistryCommands(program: Command): void {
  const registry = program
    .command('registry')
    .description('import or export registry.yaml (the store holds the registry)');
  registry
    .command('import')
    .description('replace the registry in cloud.db with FILE (idempotent; audited)')
    .argument('<file>', 'a registry.yaml')
    .requiredOption('-c, --config <file>', 'cloud.yaml (its dataDir holds cloud.db)')
    .action((file: string, opts: { config: string }) => {
      const config = loadConfig(opts.config);
      const parsed = loadRegistry(file);
      const db = openDatabase(config.dataDir);
      try {
        migrateCloudDb(db, `${config.dataDir}/cloud.db`);
        createRegistrySchema(db);
        const { changed } = importRegistry(db, parsed, {
          actor: `cli:${userInfo().username}`,
          now: Date.now(),
          credentialEdges: config.edges.map((e) => e.id),
        });
        process.stdout.write(`${JSON.stringify({ imported: file, changed })}\n`);
      } finally {
        db.close();
      }
    });
  registry
    .command('export')
    .description('print the registry in cloud.db as registry.yaml')
    .requiredOption('-c, --config <file>', 'cloud.yaml (its dataDir holds cloud.db)')
    .action((opts: { config: string }) => {
      const config = loadConfig(opts.config);
      const db = openDatabase(config.dataDir);
      try {
        migrateCloudDb(db, `${config.dataDir}/cloud.db`);
        createRegistrySchema(db);
        process.stdout.write(stringify(exportRegistry(db)));
      } finally {
        db.close();
      }
    });
}
