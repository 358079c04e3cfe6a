#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupError,
  ConfigError,
  LOG_FORMATS,
  type LogFormat,
  PortError,
  createLogger,
} from '@village/service-kit';
import Database from 'better-sqlite3';
import { Command, CommanderError, Option } from 'commander';
import { BUILD_INFO, versionLine } from '../build-info.js';
import { startCloud } from '../cloud.js';
import { checkCloudConfig } from '../config-check.js';
import { type CloudConfig, loadConfig } from '../config.js';
import { hashPassword } from '../password-hash.js';
import { StoreMigrateError } from '../shared-store/migrate-to-postgres.js';
import { InfluxUnreachableError, prepareInflux } from '../sink/influx-startup.js';
import { ALLOW_SINK_CHANGE_FLAG, checkSinkChange } from '../sink/sink-change.js';
import { checkCloudSchema } from '../store/cloud-migrations.js';
import { CLOUD_DB_FILE } from '../store/open-database.js';
import { addBackupCommands } from './backup-commands.js';
import { printNewEdgeSecret } from './new-edge-secret.js';
import { readPassword } from './read-password.js';
import { addRegistryCommands } from './registry-commands.js';
import { addStoreCommands } from './store-commands.js';

/** Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure, 2 bad config or usage. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

interface RunOptions {
  config: string;
  check?: boolean;
  connect?: boolean;
  logFormat?: LogFormat;
  allowSinkChange?: boolean;
  insecureLab?: boolean;
}

// Until the cloud runs, a SIGHUP (a closing terminal) must not kill a start half-way.
let onHangup = () => {};
process.on('SIGHUP', () => onHangup());

/** `--check`: the checks a start makes, without opening ports or writing anything. */
async function check(config: CloudConfig, opts: RunOptions): Promise<void> {
  const registry = checkCloudConfig(config);
  const dbFile = join(config.dataDir, CLOUD_DB_FILE);
  if (existsSync(dbFile)) {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      checkCloudSchema(db, dbFile);
      checkSinkChange(db, config.sink, config.configFile, opts.allowSinkChange === true);
    } finally {
      db.close();
    }
  }
  const parts = [
    `registry: ${registry.counties.length} counties, ${registry.people.length} people`,
    `${config.edges.length} edges`,
    `${config.users?.length ?? 0} users`,
    `sink: ${config.sink.kind}`,
    `store: ${config.store.kind}`,
  ];
  if (opts.connect && config.sink.kind === 'influx') {
    const influx = await prepareInflux({ ...config.sink, createDatabase: false }, config.configFile);
    parts.push(
      `InfluxDB ${influx.version} at ${config.sink.url} answers (api ${influx.api}), database ${config.sink.database} exists`,
    );
  }
  process.stdout.write(`${opts.config}: ok (${parts.join('; ')})\n`);
}

/** The config file as errors name it (its base name, like every ConfigError). */
let configName = 'cloud.yaml';

async function run(opts: RunOptions): Promise<void> {
  const config = loadConfig(opts.config);
  configName = config.configFile;
  // The flag says on the command line what `http.allowInsecureLab: true` says in the file.
  if (opts.insecureLab) config.http.allowInsecureLab = true;
  if (opts.check) return check(config, opts);
  const log = createLogger(config.log.level, 'village-cloud', opts.logFormat ?? config.log.format);
  log.info({ ...BUILD_INFO, config: opts.config, pid: process.pid }, 'village-cloud starting');
  const cloud = await startCloud(config, log, { allowSinkChange: opts.allowSinkChange });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    cloud.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err: err.message }, 'failed to stop cleanly');
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP reloads what can change while running: the log level (registry and users need a restart).
  onHangup = () => {
    try {
      const next = loadConfig(opts.config).log.level;
      const previous = log.level;
      // The line is written at the more verbose of the two levels, so an operator sees it either way.
      log.level = log.levels.values[next]! < log.levels.values[previous]! ? next : previous;
      log.info(
        { signal: 'SIGHUP', from: previous, to: next },
        'SIGHUP: reloaded log.level (registry, users and the rest need a restart)',
      );
      log.level = next;
    } catch (err) {
      log.warn(
        { signal: 'SIGHUP', err: (err as Error).message },
        'SIGHUP: config not reloaded, it has a problem; running on as before',
      );
    }
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const program = new Command()
  .name('village-cloud')
  .description('Village telemetry cloud: embedded MQTT broker, ingest, SQLite store, HTTP API')
  .version(versionLine('village-cloud'), '-V, --version', 'print the version and git commit')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('run', { isDefault: true })
  .description('run the cloud (default command)')
  .requiredOption('-c, --config <file>', 'cloud.yaml')
  .option('--check', 'validate config, registry, users and sink settings, then exit (0 ok, 2 not)')
  .option('--connect', 'with --check: also check that InfluxDB answers and the database exists')
  .addOption(new Option('--log-format <format>', 'override log.format').choices(LOG_FORMATS))
  .option(ALLOW_SINK_CHANGE_FLAG, 'start although dataDir holds data of the other sink (it stops showing)')
  .option(
    '--insecure-lab',
    'with no users (lab mode, an open API): allow a non-loopback http.host, as http.allowInsecureLab: true',
  )
  .action(async (opts: RunOptions) => run(opts));

program
  .command('hash-password')
  .description(
    'print the scrypt hash of a password for cloud.yaml (edges[].passwordHash, users[].passwordHash): ' +
      'asked for without echo on a terminal, else read from stdin',
  )
  .action(async () => {
    let password: string;
    if (process.stdin.isTTY) {
      password = await readPassword('Password: ');
      if (password.length > 0 && (await readPassword('Again: ')) !== password) {
        process.stderr.write('hash-password: the two passwords differ\n');
        process.exit(EXIT_USAGE);
      }
    } else {
      // Only the line ending a shell or `echo` appends is dropped; other whitespace is part of the password.
      password = (await readStdin()).replace(/\r?\n$/, '');
    }
    if (password.length === 0) {
      process.stderr.write('hash-password: empty password\n');
      process.exit(EXIT_USAGE);
    }
    process.stdout.write(`${hashPassword(password)}\n`);
  });

program
  .command('new-edge-secret')
  .description('mint a random edge secret: prints it once, with its hash for cloud.yaml edges[].passwordHash')
  .action(() => printNewEdgeSecret(process.stdout));
addBackupCommands(program);
addRegistryCommands(program);
addStoreCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; any usage error exits 2 (commander printed the message).
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof BackupError) {
    process.stderr.write(`village-cloud: ${err.code}: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof StoreMigrateError) {
    process.stderr.write(`village-cloud store migrate: ${err.code}: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof PortError) {
    process.stderr.write(`${configName}: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof InfluxUnreachableError) {
    // Exit 1, not 2: InfluxDB may still be starting, and a restart may then succeed.
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_RUNTIME);
  }
  process.stderr.write(`village-cloud: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT_RUNTIME);
});
