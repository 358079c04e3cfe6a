#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { startCloud } from '../cloud.js';
import { ConfigError } from '../config-error.js';
import { loadConfig } from '../config.js';
import { hashPassword } from '../password-hash.js';
import { printNewEdgeSecret } from './new-edge-secret.js';

/** Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure, 2 bad config or usage. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

async function run(configPath: string): Promise<void> {
  const config = loadConfig(configPath);
  const log = pino({ level: config.log.level, base: { service: 'village-cloud' } });
  const cloud = await startCloud(config, log);
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
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const program = new Command()
  .name('village-cloud')
  .description('Village telemetry cloud: embedded MQTT broker, ingest, SQLite store, HTTP API')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('run', { isDefault: true })
  .description('run the cloud (default command)')
  .requiredOption('-c, --config <file>', 'cloud.yaml')
  .action(async (opts: { config: string }) => run(opts.config));

program
  .command('hash-password')
  .description('read a password on stdin, print its scrypt hash for cloud.yaml edges[].passwordHash')
  .action(async () => {
    // Only the line ending a shell or `echo` appends is dropped; other whitespace is part of the password.
    const password = (await readStdin()).replace(/\r?\n$/, '');
    if (password.length === 0) {
      process.stderr.write('hash-password: empty password on stdin\n');
      process.exit(EXIT_USAGE);
    }
    process.stdout.write(`${hashPassword(password)}\n`);
  });

program
  .command('new-edge-secret')
  .description('mint a random edge secret: prints it once, with its hash for cloud.yaml edges[].passwordHash')
  .action(() => printNewEdgeSecret(process.stdout));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; any usage error exits 2 (commander printed the message).
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
  process.stderr.write(`village-cloud: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT_RUNTIME);
});
