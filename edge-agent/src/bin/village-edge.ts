#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { LOG_FORMATS, type LogFormat, PortError, createLogger } from '@village/service-kit';
import { Command, Option } from 'commander';
import { startEdgeAgent } from '../agent.js';
import { BUILD_INFO, versionLine } from '../build-info.js';
import { ConfigError, loadEdgeConfig } from '../config.js';
import { driverKindsIn, loadDriverKinds } from '../driver-kinds.js';

// `backup` and `restore` are subcommands of their own (bin/backup-cli.ts); everything else runs the edge.
// Both CLIs are loaded only when asked for: the vendor's loads the Modbus stack (34 MB of RSS), which
// a running edge with no Modbus driver must not carry.
if (process.argv[2] === 'backup' || process.argv[2] === 'restore')
  await (await import('./backup-cli.js')).runBackupCli(process.argv.slice(2));
// `check-profile` and `test-codec` are the vendor's commands (bin/vendor-cli.ts); they need no edge config.
if (process.argv[2] === 'check-profile' || process.argv[2] === 'test-codec')
  await (await import('./vendor-cli.js')).runVendorCli(process.argv.slice(2));

/** Exit codes scripts can trust: 0 clean stop, 1 runtime failure, 2 bad config or usage. */
const EXIT_CONFIG = 2;
const program = new Command()
  .name('village-edge')
  .description(
    'Village station edge agent: polls devices, buffers every reading in SQLite, forwards to the cloud over MQTT.',
  )
  .version(versionLine('village-edge'), '-V, --version', 'print the version and git commit')
  .requiredOption('-c, --config <file>', 'edge YAML config')
  .option('--check', 'validate the config (drivers and Modbus profiles included) and exit')
  .addOption(new Option('--log-format <format>', 'override log.format').choices(LOG_FORMATS))
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG))
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ config: string; check?: boolean; logFormat?: LogFormat }>();

// Until the agent runs, a SIGHUP (a closing terminal, `systemctl reload`) must not kill a start.
let onHangup = () => {};
process.on('SIGHUP', () => onHangup());

let cfg: ReturnType<typeof loadEdgeConfig>;
let text = '';
try {
  text = readFileSync(opts.config, 'utf8');
} catch {
  // loadEdgeConfig reports the unreadable file with exit code 2
}
const driverKinds = await loadDriverKinds(driverKindsIn(text));
try {
  // The one validation a start and `--check` share: schema, drivers, the files they name.
  cfg = loadEdgeConfig(opts.config, driverKinds);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}
if (opts.check) {
  process.stdout.write(`${opts.config}: ok\n`);
  process.exit(0);
}

const log = createLogger(cfg.log.level, 'village-edge', opts.logFormat ?? cfg.log.format);
log.info({ ...BUILD_INFO, config: opts.config, pid: process.pid }, 'village-edge starting');
try {
  const agent = await startEdgeAgent(cfg, driverKinds, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Nothing of the edge's config can change while it runs (drivers hold ports and files): say so, carry on.
  onHangup = () =>
    log.info(
      { signal: 'SIGHUP' },
      'SIGHUP: nothing to reload on the edge; restart it to apply config changes',
    );
} catch (err) {
  if (err instanceof PortError) {
    log.fatal({ code: err.code, key: err.key, value: err.value }, 'edge failed to start');
    process.stderr.write(`${opts.config}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (err instanceof ConfigError) {
    // Found only at start, e.g. an unreadable cloud.tls file.
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  log.fatal({ err: (err as Error).message, stack: (err as Error).stack }, 'edge failed to start');
  process.exit(1);
}
