#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { startEdgeAgent } from '../agent.js';
import { ConfigError, loadEdgeConfig } from '../config.js';
import { driverKindsIn, loadDriverKinds } from '../driver-kinds.js';
import { createLogger } from '../log.js';

/** Exit codes scripts can trust: 0 clean stop, 1 runtime failure, 2 bad config or usage. */
const program = new Command()
  .name('village-edge')
  .description(
    'Village station edge agent: polls devices, buffers every reading in SQLite, forwards to the cloud over MQTT.',
  )
  .requiredOption('-c, --config <file>', 'edge YAML config')
  .option('--check', 'validate the config and exit')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ config: string; check?: boolean }>();

let cfg: ReturnType<typeof loadEdgeConfig>;
let text = '';
try {
  text = readFileSync(opts.config, 'utf8');
} catch {
  // loadEdgeConfig reports the unreadable file with exit code 2
}
const driverKinds = await loadDriverKinds(driverKindsIn(text));
try {
  cfg = loadEdgeConfig(opts.config, driverKinds);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
if (opts.check) {
  process.stdout.write(`${opts.config}: ok\n`);
  process.exit(0);
}

const log = createLogger(cfg.log.level, 'edge');
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
} catch (err) {
  if (err instanceof ConfigError) {
    // Found only at start, e.g. an unreadable cloud.tls file.
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  log.fatal({ err: (err as Error).message, stack: (err as Error).stack }, 'edge failed to start');
  process.exit(1);
}
