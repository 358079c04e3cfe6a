import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { JOURNAL_DEFAULTS } from '../broker/external-journal-config.js';
import type { CloudConfig } from '../config.js';
import { createAlertRoutes } from '../http/alert-routes.js';
import { ApiError } from '../http/api-error.js';
import { createIncidentRoutes } from '../http/incident-routes.js';
import { type CommittedFeed, createCommittedFeed } from '../ingest/committed-feed.js';
import type { RegistryFile } from '../registry-file.js';
import { timeWindowOf } from '../sink/reading-time-window.js';
import type { PlaceTags } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { openRulesLease } from './journal-lease.js';
import { openJournalTail } from './journal-tail.js';
import { compileRulesSetup } from './rules-from-registry.js';
import type { RulesChange, RulesRuntime } from './rules-runtime.js';
import { startRules } from './start-rules.js';

export interface JournalRules {
  /** Answers while this worker holds the rules lease; 503 `rules_standby` otherwise. */
  runtime: RulesRuntime;
  routes: Hono[];
  /** Every worker's committed batches, in journal order, while this worker runs the rules (the live stream). */
  feed: CommittedFeed;
  /** True while this worker runs the rules. */
  active(): boolean;
  close(): Promise<void>;
}

/**
 * The rules of an external-broker cloud with several ingest workers (docs/scaling.md "Rules with
 * several workers"). A worker with `rules.enabled` takes the rules lease if it is free and runs
 * the runtime fed from the committed-batch journal; otherwise it stands by, checks the lease every
 * leaseMs / 3 and takes over once the holder stopped renewing it. A worker that loses the lease
 * (it stalled longer than leaseMs and a standby took over) stops its runtime for good: the
 * runtime's metrics can be registered once per process, so it rejoins as standby after a restart.
 * Undefined when rules are disabled on this worker. Throws ConfigError for bad rules at start,
 * even on a standby.
 */
export function startJournalRules(deps: {
  config: CloudConfig;
  registryFile: RegistryFile;
  db: Db;
  placeOf(edgeId: string): PlaceTags;
  publish(topic: string, payload: Uint8Array): Promise<void>;
  log: Logger;
  registry: Registry;
  now(): number;
  /** This worker's name in the lease: its MQTT client id. */
  name: string;
}): JournalRules | undefined {
  const { config, name } = deps;
  if (!config.rules.enabled) return undefined;
  // Fail fast on bad rules on a standby too, not only when it takes over.
  compileRulesSetup(config.rules, deps.registryFile);
  const { pollMs, rowsPerPoll, leaseMs } = config.ingest.journal ?? JOURNAL_DEFAULTS;
  const log = deps.log.child({ component: 'rules-journal' });
  const lease = openRulesLease(deps.db, name, leaseMs, deps.now);
  const feed = createCommittedFeed((err) =>
    log.error({ err: err.message, stack: err.stack }, 'a journal batch listener failed'),
  );
  const rows = new Counter({
    name: 'cloud_rules_journal_rows_total',
    help: 'Committed-journal rows read by the rules worker, by result (fed, undecodable)',
    labelNames: ['result'],
    registers: [deps.registry],
  });
  const listeners = new Set<(c: RulesChange) => void>();
  let current: { runtime: RulesRuntime; stop(): Promise<void> } | undefined;
  let lost = false;

  function activate(): void {
    const tail = openJournalTail({
      db: deps.db,
      feed,
      placeOf: deps.placeOf,
      timeWindow: timeWindowOf(config.ingest),
      log,
      pollMs,
      rowsPerPoll,
      fence: () => lease.held(),
      rows,
    });
    const rules = startRules({
      config,
      registryFile: deps.registryFile,
      db: deps.db,
      committed: feed,
      placeOf: deps.placeOf,
      publish: deps.publish,
      log: deps.log,
      registry: deps.registry,
      now: deps.now,
      journal: tail,
    })!;
    rules.runtime.onChange((change) => {
      for (const l of listeners) l(change);
    });
    // Only now: the runtime is subscribed, so no row is read past unseen.
    tail.start();
    current = {
      runtime: rules.runtime,
      async stop() {
        tail.close();
        await rules.runtime.close();
      },
    };
    log.info({ worker: name, journalCursor: tail.cursor() }, 'rules: this worker runs the rules');
  }

  function checkLease(): void {
    if (lost) return;
    try {
      const ok = lease.acquire();
      if (ok && current === undefined) activate();
      else if (!ok && current !== undefined) {
        lost = true;
        log.error(
          { worker: name, holder: lease.holder() },
          'rules: lease lost to another worker, rules stopped',
        );
        const stopping = current;
        current = undefined;
        void stopping.stop().catch((err: Error) => log.error({ err: err.message }, 'rules stop failed'));
      } else if (!ok) {
        log.debug({ worker: name, holder: lease.holder() }, 'rules: standing by');
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'rules lease check failed');
    }
  }

  if (lease.acquire()) activate();
  else
    log.info({ worker: name, holder: lease.holder() }, 'rules: another worker runs the rules, standing by');
  const leaseTimer = setInterval(checkLease, Math.max(100, Math.floor(leaseMs / 3)));

  const running = (): RulesRuntime => {
    if (current) return current.runtime;
    throw new ApiError(
      503,
      'rules_standby',
      `this worker does not run the rules now (lease holder: ${lease.holder()?.holder ?? 'none'})`,
    );
  };
  const runtime: RulesRuntime = {
    alerts: (q) => running().alerts(q),
    incidents: (q) => running().incidents(q),
    incident: (id) => running().incident(id),
    acknowledge: (id, actor, note) => running().acknowledge(id, actor, note),
    resolve: (id, actor, closing) => running().resolve(id, actor, closing),
    arrive: (id, actor) => running().arrive(id, actor),
    // Births and deaths reach the worker that holds the rules lease; the others have no state to feed.
    edgeStatus: (edge, online) => current?.runtime.edgeStatus(edge, online),
    slaInput: (q) => running().slaInput(q),
    deliveries: (id) => running().deliveries(id),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      clearInterval(leaseTimer);
      const stopping = current;
      current = undefined;
      if (stopping) {
        await stopping.stop();
        // After the last state write: a standby takes over from exactly here, without waiting.
        lease.release();
      }
    },
  };
  return {
    runtime,
    routes: [createAlertRoutes(runtime), createIncidentRoutes(runtime)],
    feed,
    active: () => current !== undefined,
    close: () => runtime.close(),
  };
}
