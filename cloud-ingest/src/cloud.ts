import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type Ack, type Command, encodeAck, encodeJson, topics } from '@village/protocol';
import { portError } from '@village/service-kit';
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { createAuth } from './auth/create-auth.js';
import { chooseBrokerMode } from './broker/broker-mode.js';
import { JOURNAL_DEFAULTS } from './broker/external-journal-config.js';
import type { JournalWriter } from './broker/external-journal.js';
import { registerBuildInfo } from './build-info.js';
import { checkCloudConfig } from './config-check.js';
import type { CloudConfig } from './config.js';
import { createAdminRoutes } from './http/admin-routes.js';
import { createApi } from './http/api-routes.js';
import { createBodyLimits } from './http/body-limits.js';
import { createBrowserGuards } from './http/browser-guards.js';
import { createCommandRoutes } from './http/command-routes.js';
import { DEFAULT_DASHBOARD_DIR, createDashboardRoutes } from './http/dashboard-static.js';
import { createDeadLetterRoutes } from './http/dead-letter-routes.js';
import { createEdgeRoutes } from './http/edge-routes.js';
import { loadHttpTls } from './http/http-tls.js';
import { createLiveRoutes, rulesChanges } from './http/live-routes.js';
import { refuseMalformedPath } from './http/malformed-path.js';
import { createPeopleRoutes } from './http/people-routes.js';
import { createPlaceRoutes } from './http/place-routes.js';
import { EXTERNAL_GROUP_LIMITS, createBatchGroupQueue } from './ingest/batch-group-queue.js';
import { type DedupeState, createBatchIngest } from './ingest/batch-ingest.js';
import { createCommandResend } from './ingest/command-resend.js';
import { createCommandResultIngest } from './ingest/command-result-ingest.js';
import { type CommittedFeed, createCommittedFeed } from './ingest/committed-feed.js';
import { createDeadLetterRedrive } from './ingest/dead-letter-redrive.js';
import { createEdgeReportIngest } from './ingest/edge-report-ingest.js';
import { type SharedDeviceOwners, openSharedDeviceOwners } from './ingest/shared-device-owners.js';
import { createStatusIngest } from './ingest/status-ingest.js';
import { type CloudMetrics, createCloudMetrics } from './metrics.js';
import { startJournalRules } from './rules-runtime/journal-rules.js';
import { startPartitionedRules } from './rules-runtime/partitioned-rules.js';
import { applyRegistryToRules } from './rules-runtime/registry-live-rules.js';
import { compileRulesSetup } from './rules-runtime/rules-from-registry.js';
import type { RulesRuntime } from './rules-runtime/rules-runtime.js';
import { startRules } from './rules-runtime/start-rules.js';
import { openPostgresSharedStore } from './shared-store/postgres-shared-store.js';
import type { SharedStore } from './shared-store/shared-store.js';
import { openSeriesCatalog } from './sink/influx-series-catalog.js';
import { createInfluxSink } from './sink/influx-sink.js';
import { prepareInflux } from './sink/influx-startup.js';
import { believableOnly, timeWindowOf } from './sink/reading-time-window.js';
import { checkSinkChange } from './sink/sink-change.js';
import type { SinkBatch } from './sink/sink.js';
import { createSqliteSink } from './sink/sqlite-sink.js';
import { migrateCloudDb } from './store/cloud-migrations.js';
import { openCommandStore } from './store/command-store.js';
import { countDeadLetters, openDeadLetterStore } from './store/dead-letter-store.js';
import { edgeCredentialLookup, openEdgeCredentialStore } from './store/edge-credential-store.js';
import { openEdgeStateStore } from './store/edge-state-store.js';
import { type Db, openDatabase } from './store/open-database.js';
import { storeUsers } from './store/registry-entities.js';
import { exportRegistry } from './store/registry-import.js';
import { type RegistryReplica, openRegistryReplica } from './store/registry-replica.js';
import { type RegistryStore, openRegistryStore } from './store/registry-store.js';

export interface StartOptions {
  /** Start although dataDir holds data of the other sink (sink/sink-change.ts): `--allow-sink-change`. */
  allowSinkChange?: boolean;
}

export interface RunningCloud {
  mqttPort: number;
  httpPort: number;
  db: Db;
  registry: RegistryStore;
  metrics: CloudMetrics;
  /** The embedded broker; reading it in external-broker mode (`mqtt.mode: external`) throws. */
  readonly aedes: Aedes;
  /** Every batch once committed: subscribe to see committed readings and events. */
  committed: CommittedFeed;
  /** Rules runtime (alerts, incidents): `rules.onChange` feeds live listeners. Undefined when rules.enabled is false. */
  rules: RulesRuntime | undefined;
  /** Stops accepting, lets the message being ingested finish, closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the cloud: SQLite store and sink, embedded broker with the ingest subscribed in-process
 * (no loopback MQTT connection), and the HTTP API. Logs one "cloud ready" line with the bound ports.
 * Throws ConfigError for a bad registry file.
 */
export async function startCloud(
  config: CloudConfig,
  log: Logger,
  options: StartOptions = {},
): Promise<RunningCloud> {
  const startedAt = Date.now();
  const now = () => Date.now();
  // Everything that can be wrong is found before anything is opened (the same check as --check).
  const registryFile = checkCloudConfig(config);
  const tls = loadHttpTls(config);
  let sinkConfig = config.sink;
  if (sinkConfig.kind === 'influx') {
    const influx = await prepareInflux(sinkConfig, config.configFile);
    log.info({ url: sinkConfig.url, database: sinkConfig.database, ...influx }, 'InfluxDB ready');
    sinkConfig = { ...sinkConfig, api: influx.api };
  }
  const db = openDatabase(config.dataDir);
  const closers: (() => Promise<void>)[] = [
    async () => {
      db.close();
    },
  ];
  let closing: Promise<void> | undefined;
  const closeAll = () => {
    closing ??= (async () => {
      for (const c of [...closers].reverse()) await c();
    })();
    return closing;
  };
  try {
    const schema = migrateCloudDb(db, `${config.dataDir}/cloud.db`);
    if (schema.from !== schema.to) log.info(schema, 'cloud.db migrated to the current schema version');
    checkSinkChange(db, config.sink, config.configFile, options.allowSinkChange === true);
    const registry = openRegistryStore(
      db,
      registryFile,
      config.edges.map((e) => e.id),
    );
    // Closers run last to first: this one before the database closes.
    closers.push(async () => registry.flushLastSeen());
    const edgeCredentials = openEdgeCredentialStore(db);
    // Embedded or external broker, chosen once (broker/broker-mode.ts): in external mode several
    // workers share cloud.db (seq state not cached per process) and each journals what it commits.
    const brokerMode = chooseBrokerMode(config, edgeCredentialLookup(edgeCredentials, config.edges, now));
    // store.kind postgres (several hosts, docs/scaling.md "Several hosts"): the dedupe and the
    // journal live in the SharedStore; this host's cloud.db keeps only what is its own.
    let dedupe: DedupeState;
    let journal: JournalWriter | undefined;
    let sharedStore: SharedStore | undefined;
    let sharedOwners: SharedDeviceOwners | undefined;
    let registryReplica: RegistryReplica | undefined;
    // Set once the caches exist (below): what a newer shared registry imported by the poll refreshes.
    let onRegistryImported = async (_users: string[]): Promise<void> => {};
    const metrics = createCloudMetrics();
    registerBuildInfo(metrics.registry);
    if (config.store.kind === 'postgres') {
      const pg = await openPostgresSharedStore({ url: config.store.url, log });
      sharedStore = pg;
      closers.push(() => pg.close());
      // The registry too: one versioned document, imported into cloud.db (store/registry-replica.ts).
      registryReplica = await openRegistryReplica({
        db,
        store: pg.registry,
        file: registryFile,
        fileImportedAtStart: registry.fileImportedAtStart,
        credentialEdges: config.edges.map((e) => e.id),
        onImported: (users) => onRegistryImported(users),
        pollMs: config.store.registryPollMs,
        log,
        metricsRegistry: metrics.registry,
        now,
      });
      const replica = registryReplica;
      closers.push(async () => replica.close());
      registry.refresh();
      // Who may write a device: the claims all hosts share, the registry's owners over them (the
      // replica's start wrote those its document names, in the document's transaction).
      sharedOwners = await openSharedDeviceOwners(pg.deviceOwners, exportRegistry(db).devices);
      dedupe = { sharedStore: pg, sharedOwners };
      log.info({ store: 'postgres' }, 'shared store ready');
    } else {
      const state = brokerMode.openState(db);
      dedupe = { seqState: state.seqState };
      journal = state.journal;
    }
    // The store holds the registry (registry.yaml or the shared registry imported): rules read it there.
    const storedRegistry = exportRegistry(db);
    // Several hosts: dead letters in PostgreSQL, so any host lists and re-drives any host's.
    const deadLetters = countDeadLetters(
      sharedStore?.deadLetters ?? openDeadLetterStore(db),
      metrics.registry,
    );
    const timeWindow = timeWindowOf(config.ingest);
    const sink =
      sinkConfig.kind === 'influx'
        ? createInfluxSink(sinkConfig, {
            db,
            // Several hosts: the catalog in PostgreSQL, so each host's history lists what any wrote.
            catalog: sharedStore?.seriesCatalog ?? openSeriesCatalog(db),
            registry,
            log,
            metricsRegistry: metrics.registry,
            deadLetters,
            timeWindow,
            now,
          })
        : createSqliteSink(db, { repairLatest: { window: timeWindow, now: now() } });
    closers.push(() => sink.close());
    const publish = (topic: string, payload: Uint8Array): Promise<void> => brokerMode.publish(topic, payload);
    // An ack answers the batch being handled: on the broker it came from (several external brokers).
    const publishAck = (edgeId: string, ack: Ack, via: string | undefined) =>
      brokerMode.reply(topics.ack(edgeId), encodeAck(ack), via);
    const committed = createCommittedFeed((err) =>
      log.error({ err: err.message, stack: err.stack }, 'a committed-batch listener failed'),
    );
    // A commit's batches reach the listeners in one cloud.db transaction, so what the rules derive
    // from a group (quality flags, AQI samples, device places, rules state) costs one WAL sync, not
    // two or more per batch (bench/cloud-influx-ratio.mjs: 18 % of the cloud's CPU). A listener
    // that fails is logged by the feed and rolls back only its own savepoint.
    const feedCommitted = db.transaction((group: readonly SinkBatch[]) => {
      for (const batch of group) committed.publish(believableOnly(batch));
    });
    const batches = createBatchIngest({
      db,
      sink,
      ...dedupe,
      registry,
      metrics,
      log,
      deadLetters,
      timeWindow,
      publishAck,
      journal,
      now,
      onCommitted: (group) => {
        if (group.length > 0) feedCommitted(group);
      },
    });
    // Several hosts: commands in PostgreSQL, so the host a result reaches completes what another sent.
    const commands = sharedStore?.commands ?? openCommandStore(db);
    const ingestCommandResult = createCommandResultIngest({ commands, metrics, log, now });
    const resendCommands = createCommandResend({ commands, metrics, log, now, publish });
    // The rules runtime starts later; births and deaths reach it once it runs (an offline edge is
    // the root cause of the silence behind it).
    let edgeStatusToRules: ((edge: string, online: boolean) => void) | undefined;
    const edgeStates = openEdgeStateStore(db, config.edgeHealth);
    const onReport = createEdgeReportIngest({
      store: edgeStates,
      thresholds: config.edgeHealth,
      metricsRegistry: metrics.registry,
      log,
      now,
    });
    const ingestStatus = createStatusIngest({
      registry,
      sharedOwners,
      metrics,
      log,
      now,
      onBirth: (edge) => {
        // Several hosts all get the birth, so each resends: the edge runs a command id once.
        resendCommands(edge).catch((err: Error) =>
          log.warn({ edge, err: err.message }, 'pending commands not resent (the command store failed)'),
        );
        edgeStatusToRules?.(edge, true);
      },
      onDeath: (edge) => edgeStatusToRules?.(edge, false),
      onReport,
    });
    // One message at a time: the dedupe check and the commit of a seq must not interleave with a
    // resend of the same seq. The broker's callback waits for the commit, which also holds back
    // reading from the publishing connection (backpressure); embedded batches release a bounded
    // number ahead (batch-group-queue.ts).
    let chain: Promise<void> = Promise.resolve();
    const serially = (work: () => Promise<unknown> | unknown, done: () => void) => {
      chain = chain
        .then(work)
        .then(
          () => undefined,
          (err: Error) => {
            metrics.batches.inc({ result: 'failed', code: err.name });
            log.error(
              { err: err.message, stack: err.stack },
              'ingest failed, message not acked (the edge resends)',
            );
          },
        )
        .finally(done);
    };
    // Either broker: batches queued while a commit runs are committed together (group commit).
    const batchGroups = createBatchGroupQueue({
      ingest: batches,
      serially,
      onError: (err) => log.error({ err: err.message, stack: err.stack }, 'batch could not be decoded'),
      // An external broker is one connection, whose next message comes only after the last one's
      // callback: two groups' worth released ahead, or a group holds no more than maxAhead.
      ...(config.mqtt.mode === 'external' ? { limits: EXTERNAL_GROUP_LIMITS } : {}),
    });
    const broker = await brokerMode.start({
      log,
      metrics,
      serially,
      batchGroups,
      ingest: { status: ingestStatus, 'cmd-result': ingestCommandResult },
    });
    closers.push(async () => {
      await broker.close();
      await batchGroups.idle();
      await chain;
    });

    const routes = [
      createCommandRoutes({
        commands,
        registry,
        now,
        send: (edge: string, cmd: Command) => publish(topics.cmd(edge), encodeJson(cmd)),
        log,
      }),
    ];
    const journalRules =
      journal &&
      startJournalRules({
        config,
        registryFile: storedRegistry,
        db,
        placeOf: (edge) => registry.placeOf(edge),
        publish,
        log,
        registry: metrics.registry,
        now,
        name: brokerMode.workerName,
      });
    const { pollMs, rowsPerPoll, leaseMs } = config.ingest.journal ?? JOURNAL_DEFAULTS;
    // Several hosts (store.kind postgres): the rules run as village partitions leased through the store.
    const partitionedRules =
      sharedStore &&
      startPartitionedRules({
        config,
        registryFile: storedRegistry,
        db,
        store: sharedStore,
        placeOf: (edge) => registry.placeOf(edge),
        publish,
        log,
        registry: metrics.registry,
        now,
        name: brokerMode.workerName,
        options: { pollMs, rowsPerPoll, leaseMs },
        edgeStatuses: () =>
          registry
            .edges()
            .filter((e) => e.boot !== null)
            .map((e) => [e.id, e.online]),
        sink,
      });
    const rules = journal
      ? journalRules
      : sharedStore
        ? partitionedRules
        : startRules({
            config,
            registryFile: storedRegistry,
            db,
            committed,
            placeOf: (edge) => registry.placeOf(edge),
            publish,
            log,
            registry: metrics.registry,
            now,
            sink,
          });
    if (rules) {
      edgeStatusToRules = (edge, online) => rules.runtime.edgeStatus(edge, online);
      closers.push(() => rules.runtime.close());
      routes.push(...rules.routes);
    }
    const live = createLiveRoutes({
      committed: journalRules?.feed ?? committed,
      log,
      metricsRegistry: metrics.registry,
      changes: rules && rulesChanges(rules.runtime),
      // A stream ends with its session, wherever that ended (another host, a password reset).
      liveSessions: (ids) => auth.sessions.liveIds(ids, now()),
    });
    const auth = createAuth({
      db,
      // Several hosts: an officer's next request may reach any host, so sessions and tokens are shared.
      shared: sharedStore,
      users: config.users,
      storeUsers: () => storeUsers(db),
      auth: config.auth,
      tls: tls !== undefined,
      metricsTokenSha256: config.http.metricsTokenSha256,
      onLogout: (sessionId) => live.endSession(sessionId),
      log,
      metricsRegistry: metrics.registry,
      now,
    });
    routes.push(auth.routes, auth.tokenRoutes, live.routes, createPeopleRoutes(db), createPlaceRoutes(db));
    routes.push(createEdgeRoutes({ registry, states: edgeStates }));
    // Admin changes take effect at once: places, users and rules read the store again (embedded mode).
    const liveRules = rules && 'setup' in rules ? rules.setup : undefined;
    const refreshRegistryCaches = () => {
      registry.refresh();
      // Several hosts: a device an admin moved or removed (here, or on another host) at once.
      sharedOwners?.applyRegistry(exportRegistry(db).devices);
      auth.refreshUsers();
      if (liveRules) applyRegistryToRules(liveRules, config.rules, exportRegistry(db));
      partitionedRules?.applyRegistry(exportRegistry(db));
    };
    // Another host's change: the caches first (the old password stops working here), then the
    // sessions of officers whose password changed or who are gone (one made here meanwhile too).
    onRegistryImported = async (users) => {
      try {
        refreshRegistryCaches();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'shared registry imported, but the rules refused it');
      }
      for (const u of users) await auth.sessions.deleteUser(u);
    };
    // A version the poll imported since the owners were read, before this hook was set.
    sharedOwners?.applyRegistry(exportRegistry(db).devices);
    routes.push(
      createAdminRoutes({
        db,
        credentials: edgeCredentials,
        configUsers: config.users ?? [],
        checkRules: (r) => config.rules.enabled && compileRulesSetup(config.rules, r),
        onChange: refreshRegistryCaches,
        writeRegistry: registryReplica?.change,
        disconnectEdge: (edge) => broker.disconnectEdge(edge),
        sessions: auth.sessions,
        log,
        metricsRegistry: metrics.registry,
        now,
      }),
    );
    const redrive = createDeadLetterRedrive({
      deadLetters,
      ingestBatch: batches.ingest,
      sink,
      serially,
      log,
      now,
    });
    routes.push(createDeadLetterRoutes({ deadLetters, redrive }));
    routes.push(createDashboardRoutes(config.http.dashboardDir ?? DEFAULT_DASHBOARD_DIR, log));
    const app = createApi({
      sink,
      registry,
      metrics,
      log,
      startedAt,
      now,
      routes,
      middleware: [auth.middleware],
      guards: [
        createBrowserGuards({
          listenHost: config.http.host,
          allowedHosts: config.http.allowedHosts,
          allowedOrigins: config.http.allowedOrigins,
        }),
        refuseMalformedPath,
        createBodyLimits(),
      ],
      metricsAccess: auth.metricsAccess,
      brokers: broker.brokers,
    });
    const http = await new Promise<ServerType>((resolve, reject) => {
      const server = serve(
        {
          fetch: app.fetch,
          port: config.http.port,
          hostname: config.http.host,
          ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
        },
        () => resolve(server),
      );
      server.once('error', (err) => reject(portError(err, 'http.port', config.http.host, config.http.port)));
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          (http as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    closers.push(async () => live.close());
    const httpPort = (http.address() as AddressInfo).port;
    const mqttTlsPort = broker.tlsPort;
    log.info(
      { mqttPort: broker.port, mqttTlsPort, httpPort, https: tls !== undefined, dataDir: config.dataDir },
      'cloud ready',
    );
    return {
      mqttPort: broker.port,
      httpPort,
      db,
      registry,
      metrics,
      get aedes(): Aedes {
        if (broker.aedes === undefined) throw new Error('no embedded broker: mqtt.mode is external');
        return broker.aedes;
      },
      committed,
      rules: rules?.runtime,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
