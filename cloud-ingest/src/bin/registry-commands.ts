import { userInfo } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { EMPTY_REGISTRY, loadRegistry } from '../registry-file.js';
import { openPostgresSharedStore } from '../shared-store/postgres-shared-store.js';
import { migrateCloudDb } from '../store/cloud-migrations.js';
import { openDatabase } from '../store/open-database.js';
import { exportRegistry, fingerprint, importRegistry } from '../store/registry-import.js';
import { createRegistrySchema } from '../store/registry-store.js';

/**
 * `village-cloud registry import FILE` and `registry export`: registry.yaml in and out of the
 * store: cloud.db of the config's dataDir, or with `store.kind: postgres` the hosts' shared
 * registry document (a new version every host imports at its next poll). Import replaces the registry in one transaction and
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
    .action(async (file: string, opts: { config: string }) => {
      const config = loadConfig(opts.config);
      const parsed = loadRegistry(file);
      if (config.store.kind === 'postgres') {
        // Several hosts: the shared document is the registry; a host's cloud.db is only its copy,
        // put back by the next poll (store/registry-replica.ts), so the import is a new version.
        const store = await openPostgresSharedStore({ url: config.store.url });
        try {
          let changed = false;
          const written = await store.registry.update((latest) => {
            // A file without `users:` leaves the officers as they are, as a host's start does.
            const users = parsed.users ?? latest?.doc.users;
            const doc = { ...parsed, ...(users === undefined ? {} : { users }) };
            // Compared as data: PostgreSQL's jsonb gives the document back with its keys reordered.
            if (latest !== undefined && isDeepStrictEqual(latest.doc, JSON.parse(JSON.stringify(doc))))
              return undefined;
            changed = true;
            return { doc, fileSha256: fingerprint(parsed) };
          });
          process.stdout.write(`${JSON.stringify({ imported: file, changed, version: written?.version })}\n`);
        } finally {
          await store.close();
        }
        return;
      }
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
    .action(async (opts: { config: string }) => {
      const config = loadConfig(opts.config);
      if (config.store.kind === 'postgres') {
        const store = await openPostgresSharedStore({ url: config.store.url });
        try {
          const shared = await store.registry.read();
          process.stdout.write(stringify(shared?.doc ?? EMPTY_REGISTRY));
        } finally {
          await store.close();
        }
        return;
      }
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
