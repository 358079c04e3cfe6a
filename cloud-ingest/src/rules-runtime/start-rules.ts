import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CloudConfig } from '../config.js';
import { createAlertRoutes } from '../http/alert-routes.js';
import { createIncidentRoutes } from '../http/incident-routes.js';
import type { CommittedFeed } from '../ingest/committed-feed.js';
import { createMqttNotifier } from '../notify/mqtt-notifier.js';
import { createNotificationDispatcher } from '../notify/notification-dispatcher.js';
import type { Notifier } from '../notify/notifier.js';
import { createWebhookNotifier } from '../notify/webhook-notifier.js';
import type { RegistryFile } from '../registry-file.js';
import type { Sink } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { startAirQuality } from './air-quality.js';
import { type RulesSetup, compileRulesSetup } from './rules-from-registry.js';
import { type RulesRuntime, type RulesRuntimeDeps, startRulesRuntime } from './rules-runtime.js';

/**
 * The rules runtime with its notifiers and API routes, from cloud.yaml's `rules:` and `notify:`.
 * Undefined when `rules.enabled` is false. Throws ConfigError for rules the library refuses.
 */
export function startRules(deps: {
  config: CloudConfig;
  registryFile: RegistryFile;
  db: Db;
  committed: CommittedFeed;
  placeOf: RulesRuntimeDeps['placeOf'];
  publish(topic: string, payload: Uint8Array): Promise<void>;
  log: Logger;
  registry: Registry;
  now(): number;
  /** External mode: `committed` is the journal of every worker's batches (journal-rules.ts). */
  journal?: RulesRuntimeDeps['journal'];
  /** Where quality control writes its copy of the data flags (and the AQI its series). */
  sink?: Sink;
}): { runtime: RulesRuntime; routes: Hono[]; setup: RulesSetup } | undefined {
  const { config } = deps;
  if (!config.rules.enabled) return undefined;
  const setup = compileRulesSetup(config.rules, deps.registryFile);
  const notifiers: Notifier[] = config.notify.webhooks.map(createWebhookNotifier);
  if (config.notify.mqtt.enabled)
    notifiers.push(createMqttNotifier(deps.publish, config.notify.mqtt.topicPrefix));
  const log = deps.log.child({ component: 'rules' });
  const dispatcher = createNotificationDispatcher({
    db: deps.db,
    notifiers,
    log,
    now: deps.now,
    registry: deps.registry,
  });
  const air = startAirQuality({ ...deps, log });
  const runtime = startRulesRuntime({
    db: deps.db,
    setup,
    committed: deps.committed,
    dispatcher,
    log,
    registry: deps.registry,
    now: deps.now,
    persistIntervalMs: config.rules.persistIntervalMs,
    placeOf: deps.placeOf,
    journal: deps.journal,
    qualityGate:
      air &&
      ((batch) => {
        const judged = air.gate(batch);
        // cloud.db's stores wrote already: a failure here is one of cloud.db, logged as before it threw.
        judged.written.catch((err: Error) =>
          log.error({ err: err.message }, 'quality: storing flags or AQI samples failed'),
        );
        return judged.good;
      }),
  });
  const close = runtime.close;
  runtime.close = async () => {
    await close();
    await air?.close();
  };
  const routes = [createAlertRoutes(runtime), createIncidentRoutes(runtime), ...(air?.routes ?? [])];
  return { runtime, routes, setup };
}
