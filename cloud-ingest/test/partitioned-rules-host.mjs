// One rules host in a child process, for the test that freezes it with a real SIGSTOP
// (partitioned-rules.test.ts). Runs the built code (dist/): build first. Logs JSON lines to stdout.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../dist/config.js';
import { parseRegistry } from '../dist/registry-file.js';
import { startPartitionedRules } from '../dist/rules-runtime/partitioned-rules.js';
import { openPostgresSharedStore } from '../dist/shared-store/postgres-shared-store.js';
import { openSqliteSharedStore } from '../dist/shared-store/sqlite-shared-store.js';
import { openDatabase } from '../dist/store/open-database.js';

const args = JSON.parse(process.argv[2]);
const log = pino({ level: 'debug' });
const store = args.store.url
  ? await openPostgresSharedStore({ url: args.store.url })
  : openSqliteSharedStore(openDatabase(args.store.path));
startPartitionedRules({
  config: parseConfig(args.config, args.dir),
  registryFile: parseRegistry(args.registry),
  db: openDatabase(args.db),
  store,
  placeOf: () => args.place,
  publish: async () => undefined,
  log,
  registry: new Registry(),
  now: Date.now,
  name: args.name,
  options: args.options,
});
log.info({ host: args.name }, 'host started');
