import { ProtocolError } from '@village/protocol';
import {
  type CompiledRules,
  type EngineState,
  RulesError,
  type RulesOutput,
  acknowledge,
  arrive,
  createState,
  nextDeadline,
  resolve,
  step,
  tick,
} from '@village/rules';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CloudConfig } from '../config.js';
import { createAlertRoutes } from '../http/alert-routes.js';
import { ApiError } from '../http/api-error.js';
import { createIncidentRoutes } from '../http/incident-routes.js';
import { createMqttNotifier } from '../notify/mqtt-notifier.js';
import { createNotificationDispatcher } from '../notify/notification-dispatcher.js';
import type { Notifier } from '../notify/notifier.js';
import { startDeliveryLogCopy } from '../notify/shared-delivery-log.js';
import { createWebhookNotifier } from '../notify/webhook-notifier.js';
import type { RegistryFile } from '../registry-file.js';
import { type Deadline, LeaseLostError, type SharedStore } from '../shared-store/shared-store.js';
import { type TimeWindow, timeWindowOf } from '../sink/reading-time-window.js';
import type { PlaceTags, Sink } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { startAirQuality } from './air-quality.js';
import { type DeadlineFirer, startDeadlineFirer } from './deadline-firer.js';
import { learnDevices } from './device-places.js';
import { escalationsOf } from './escalation-deadline.js';
import { forwardCommand } from './forwarded-command.js';
import { IncidentCommandError, incidentCommandError } from './incident-command-error.js';
import { type IncidentView, incidentOfView, toIncidentView } from './incident-view.js';
import { sinkBatchOfJournalRow } from './journal-row-batch.js';
import { extrasOf, projectOutputs } from './output-projector.js';
import { decodeState, encodeState } from './partition-state.js';
import { applyRegistryToRules } from './registry-live-rules.js';
import type { IncidentCommand, QueuedRuleCommand } from './rule-command-store.js';
import type { RuleViews } from './rule-view-store.js';
import type { RulesSection } from './rules-config.js';
import { type RulesSetup, compileRulesSetup as compileSetup } from './rules-from-registry.js';
import { createRulesMetrics } from './rules-metrics.js';
import type { RulesChange, RulesRuntime } from './rules-runtime.js';
import { type AlertQuery, type AlertView, type IncidentQuery, openRulesStore } from './rules-store.js';

export interface PartitionedRulesOptions {
  /** A partition lease lasts this long without renewal. */
  leaseMs: number;
  /** Lease rounds (take free partitions, renew held ones) this often, ms; default leaseMs / 3. */
  renewEveryMs?: number;
  /** Wait between journal reads of a held partition that found nothing new (also its tick), ms. */
  pollMs: number;
  rowsPerPoll: number;
  /** The deadline firer's round, ms. */
  deadlineIntervalMs: number;
  /**
   * How long a host waits for the holder to answer an officer's command it queued (its partition
   * held elsewhere) before it answers 503 `rules_standby`, ms. The holder takes queued commands
   * every pollMs.
   */
  commandWaitMs: number;
}

export const PARTITIONED_DEFAULTS: PartitionedRulesOptions = {
  leaseMs: 5_000,
  pollMs: 100,
  rowsPerPoll: 500,
  deadlineIntervalMs: 200,
  commandWaitMs: 3_000,
};

export interface PartitionedRules {
  /**
   * Reads every partition (the shared views); a command of a partition held elsewhere is queued
   * for its holder and answered here (503 `rules_standby` when no holder answers in commandWaitMs).
   */
  runtime: RulesRuntime;
  routes: Hono[];
  /** The partitions this host holds now. */
  held(): string[];
  /**
   * The registry as an admin changed it (on any host: store/registry-replica.ts), for the
   * partitions held now and those taken later, as registry-live-rules.ts for one host. Throws
   * ConfigError if the rules refuse it.
   */
  applyRegistry(registry: RegistryFile): void;
  /** One lease round now (the timer runs one every leaseMs / 3). */
  checkLeases(): Promise<void>;
  /** One round of carrying out the commands queued for the held partitions (the timer runs one every pollMs). */
  takeCommands(): Promise<void>;
  /**
   * Stops everything. `release: false` gives no lease up: what a host that died leaves behind
   * (the tests use it to stand for a dead or frozen owner).
   */
  close(opts?: { release?: boolean }): Promise<void>;
}

/** One partition this host holds: its engine, the lease epoch that fences its writes, its cursor. */
interface Held {
  name: string;
  epoch: number;
  rules: CompiledRules;
  setup: RulesSetup;
  state: EngineState;
  cursor: number;
  /** The escalation rows this host scheduled, by incident id. */
  scheduled: Map<string, Deadline>;
  dirtyAlerts: Set<string>;
  /** Every read, tick and command of the partition runs one after another on this chain. */
  chain: Promise<unknown>;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

/** Incident ids carry their partition (`inc-<partition>-<n>`), so any host can say who serves one. */
const incidentPrefix = (partition: string) => `inc-${partition}-`;
const partitionOfIncident = (id: string): string | undefined => /^inc-(.+)-\d+$/.exec(id)?.[1];
/** Queued commands a holder takes per round (they run one after another on each partition's chain). */
const COMMANDS_PER_ROUND = 100;

/**
 * The rules across several hosts sharing one SharedStore (docs/scaling.md "Rules across hosts").
 * Partitions are villages. Every lease round this host takes or renews the lease of each partition
 * it can (free or expired: a new epoch), and runs one engine per held partition, fed from that
 * partition's journal after the saved cursor. Each change is written in this order:
 * 1. the engine state and cursor, fenced by the lease epoch (`saveRulesState`); a LeaseLostError
 *    means another host took the partition over: this host drops it, unsent and unwritten;
 * 2. then what officers see, in this host's cloud.db (alerts, incidents, the notification queue),
 *    then the changed alerts and incidents as the API shows them into the shared store's views
 *    (fenced by the same epoch), which every host's reads answer from, and the partition's
 *    escalation rows in the shared store.
 * Escalation notices are never sent by the owner: its engine's 'escalated' intents are dropped,
 * since the deadline row carries them and the deadline firer of any host sends each one once
 * (deadline-firer.ts). A host that takes a partition over projects its open incidents and active
 * alerts into its own cloud.db and schedules their escalation rows again (the same keys).
 * Undefined when rules are disabled. Throws ConfigError for bad rules at start.
 */
export function startPartitionedRules(deps: {
  config: CloudConfig;
  registryFile: RegistryFile;
  /** This host's own cloud.db: alerts, incidents and the notification queue it serves and sends. */
  db: Db;
  store: SharedStore;
  placeOf(edgeId: string): PlaceTags;
  publish(topic: string, payload: Uint8Array): Promise<void>;
  log: Logger;
  registry: Registry;
  now(): number;
  /** This host's name in the leases (stable across its restarts, unique among hosts). */
  name: string;
  options?: Partial<PartitionedRulesOptions>;
  /** Test hook: extra notifiers (beside cloud.yaml's webhooks and MQTT). */
  notifiers?: Notifier[];
  /**
   * Each edge's last birth or death as this host's registry copy has it, edge → online (only
   * edges that had one). Every host receives every status, so a host taking a partition over
   * knows one that came while nobody held it (`reconcileStations`).
   */
  edgeStatuses?(): Iterable<[string, boolean]>;
  /** Where quality control writes its copy of the data flags (and the AQI its series). */
  sink?: Sink;
}): PartitionedRules | undefined {
  const { config, store, name } = deps;
  if (!config.rules.enabled) return undefined;
  const opts = { ...PARTITIONED_DEFAULTS, ...deps.options };
  const log = deps.log.child({ component: 'rules-partitions', host: name });
  let registryFile = deps.registryFile;
  const base = compileSetup(config.rules, registryFile);
  const timeWindow: TimeWindow = timeWindowOf(config.ingest);
  const notifiers: Notifier[] = config.notify.webhooks.map(createWebhookNotifier);
  if (config.notify.mqtt.enabled)
    notifiers.push(createMqttNotifier(deps.publish, config.notify.mqtt.topicPrefix));
  notifiers.push(...(deps.notifiers ?? []));
  // Every host sends some of an incident's notices: each copies its deliveries into the shared log.
  const deliveryLog = startDeliveryLogCopy({ db: deps.db, shared: store.deliveries, log, now: deps.now });
  const dispatcher = createNotificationDispatcher({
    db: deps.db,
    notifiers,
    log,
    now: deps.now,
    registry: deps.registry,
    onChange: deliveryLog.changed,
  });
  const local = openRulesStore(deps.db);
  const metrics = createRulesMetrics(deps.registry);
  const firer: DeadlineFirer = startDeadlineFirer({
    store,
    rules: base.rules,
    setup: base,
    dispatcher,
    log,
    registry: deps.registry,
    now: deps.now,
    intervalMs: opts.deadlineIntervalMs,
  });
  // Quality control and the published AQI, their state in the shared store: each holder judges
  // its partition's batches, any host answers the routes, publishes a due hour (once) and takes
  // an officer's window or invalidation (docs/scaling.md "Several hosts").
  const air = startAirQuality({
    config,
    registryFile,
    db: deps.db,
    stores: { quality: store.quality, aqi: store.aqi },
    sink: deps.sink,
    log,
    registry: deps.registry,
    now: deps.now,
  });
  const held = new Map<string, Held>();
  /**
   * Per partition, the views this host changed and has not yet written to the shared views (a
   * failed write is tried again with the next commit, or when the partition is taken up again).
   */
  const unsent = new Map<string, { alerts: Map<string, AlertView>; incidents: Map<string, IncidentView> }>();
  const listeners = new Set<(c: RulesChange) => void>();
  let closed = false;

  /** The partition's own compiled rules: same config, incident ids that name the partition. */
  const sectionOf = (partition: string) =>
    ({
      ...config.rules,
      incidents: { ...config.rules.incidents, idPrefix: incidentPrefix(partition) },
    }) as RulesSection;
  function setupOf(partition: string): RulesSetup {
    return compileSetup(sectionOf(partition), registryFile);
  }

  function emit(change: RulesChange): void {
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'a rules change listener failed');
      }
    }
  }

  /** Queues `fn` on the partition's chain; its failure is the caller's, the chain goes on. */
  function onChain<T>(h: Held, fn: () => Promise<T>): Promise<T> {
    const run = h.chain.then(() => {
      if (h.stopped) throw new ApiError(503, 'rules_standby', `this host no longer runs partition ${h.name}`);
      return fn();
    });
    h.chain = run.catch(() => undefined);
    return run;
  }

  function drop(h: Held, why: string): void {
    if (h.stopped) return;
    h.stopped = true;
    clearTimeout(h.timer);
    if (held.get(h.name) === h) held.delete(h.name);
    // Its new holder writes the views from here on (the partition's open incidents, active alerts).
    if (why.startsWith('lease lost')) unsent.delete(h.name);
    log.error({ partition: h.name, epoch: h.epoch, why }, 'rules: partition dropped on this host');
  }

  /**
   * Writes the state (fenced), then the outputs officers see, then the escalation rows. Throws
   * ApiError 503 after dropping the partition when the lease was taken over.
   */
  async function commit(h: Held, outs: RulesOutput[], commands?: readonly string[]): Promise<void> {
    try {
      await commitOnce(h, outs, commands);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        drop(h, 'lease lost: another host took the partition over (fenced write refused)');
        throw new ApiError(503, 'rules_standby', `partition ${h.name} moved to another host`);
      }
      // The engine in memory is now ahead of what was saved or shown (the store unreachable, a
      // local write failed): start the partition again from its saved state and cursor, whose
      // journal rows are still there, so the same outputs come again and nothing is lost.
      drop(h, `state write failed (${(err as Error).message}): restarting from the saved state`);
      void checkLeases();
      throw err;
    }
  }

  async function commitOnce(h: Held, outs: RulesOutput[], commands?: readonly string[]): Promise<void> {
    await store.saveRulesState(h.name, h.epoch, { cursor: h.cursor, state: encodeState(h.state), commands });
    metrics.persists.inc();
    const visible: RulesOutput[] = [];
    for (const o of outs) {
      if (o.type === 'input-rejected') metrics.rejected.inc({ reason: o.reason });
      else if (o.type === 'alert-repeated') h.dirtyAlerts.add(o.key);
      // The deadline row carries every escalation notice (deadline-firer.ts): one per deadline.
      else if (!(o.type === 'notify' && o.reason === 'escalated')) visible.push(o);
      else metrics.outputs.inc({ type: 'notify_by_deadline' });
    }
    const now = deps.now();
    const projection = local.transaction(() =>
      projectOutputs(
        { store: local, setup: h.setup, dispatcher, metrics },
        h.state,
        visible,
        h.dirtyAlerts,
        now,
      ),
    );
    const alerts = [...projection.changedAlerts].flatMap((id) => local.alert(id) ?? []);
    const incidents = [...projection.changedIncidents.values()];
    try {
      await shareViews(h, { alerts, incidents }, now);
    } finally {
      // After the views: an officer told of an incident finds it on whichever host they ask.
      if (projection.sendSoon) dispatcher.kick();
    }
    await syncDeadlines(h, now);
    for (const alert of alerts) emit({ type: 'alert', alert });
    for (const incident of incidents) emit({ type: 'incident', incident });
  }

  /** Writes the views the partition changed (and any left unsent) into the shared views, at its epoch. */
  async function shareViews(h: Held, views: RuleViews, now: number): Promise<void> {
    const u = unsent.get(h.name) ?? { alerts: new Map(), incidents: new Map() };
    unsent.set(h.name, u);
    for (const a of views.alerts) u.alerts.set(`${a.key}\u0000${a.raisedAt}`, a);
    for (const i of views.incidents) u.incidents.set(i.id, i);
    if (u.alerts.size === 0 && u.incidents.size === 0) return;
    await store.ruleViews.put(
      h.name,
      h.epoch,
      { alerts: [...u.alerts.values()], incidents: [...u.incidents.values()] },
      now,
    );
    unsent.delete(h.name);
  }

  /**
   * Schedules each open incident's next escalation row and cancels the ones no longer wanted
   * (acknowledged, resolved, moved by a re-arm). A row already due is left to the firers: it may
   * not have fired yet, and the firer skips it if the incident was acknowledged meanwhile.
   */
  async function syncDeadlines(h: Held, now: number): Promise<void> {
    const want = escalationsOf(h.name, h.state, h.rules.incidents);
    for (const [id, had] of h.scheduled) {
      if (want.get(id)?.key === had.key) continue;
      if (had.dueAt > now) await store.cancelDeadline(had.key);
      h.scheduled.delete(id);
    }
    for (const [id, d] of want) {
      if (h.scheduled.get(id)?.key === d.key) continue;
      // A past-due row was scheduled before (and may be fired and gone): scheduling it again would notify twice.
      if (d.dueAt > now) {
        await store.scheduleDeadline(d);
        log.debug(
          { partition: h.name, deadline: d.key, dueAt: d.dueAt },
          'rules: escalation deadline scheduled',
        );
      }
      h.scheduled.set(id, d);
    }
  }

  /**
   * Awaits a batch's quality flags and AQI samples, one batch at a time (a catch-up of a whole
   * poll at once would take every pooled connection from the ingest). They are stored before the
   * cursor moves past their rows: a crash in between judges the same rows again from the saved
   * cursor and writes the same (idempotent). A failure restarts the partition from there.
   */
  async function stored(h: Held, written: Promise<void>): Promise<void> {
    try {
      await written;
    } catch (err) {
      drop(h, `quality write failed (${(err as Error).message}): restarting from the saved state`);
      void checkLeases();
      throw err;
    }
  }

  /** Reads the partition's journal after the cursor, ticks the engine, commits what changed. */
  async function poll(h: Held): Promise<boolean> {
    const rows = await store.readJournal(h.name, h.cursor, opts.rowsPerPoll);
    // After the read: a window or override an officer set through any host before a batch was
    // journaled is in effect for it (one query a round that has rows).
    if (rows.length > 0) await air?.refresh();
    const outs: RulesOutput[] = [];
    for (const r of rows) {
      h.cursor = r.position;
      let batch: ReturnType<typeof sinkBatchOfJournalRow>;
      try {
        batch = sinkBatchOfJournalRow(r, deps.placeOf(r.edge), timeWindow);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        // The ingest decoded these bytes before committing them: only a damaged row gets here.
        metrics.rejected.inc({ reason: 'undecodable_journal_row' });
        log.error(
          { partition: h.name, position: r.position, edge: r.edge, err: err.message },
          'journal row skipped',
        );
        continue;
      }
      learnDevices(h.rules, batch.place, batch.readings);
      learnDevices(h.rules, batch.place, batch.events);
      // Only the readings quality control flagged N reach the rules (air-quality.ts).
      const gated = air?.gate(batch);
      if (gated) await stored(h, gated.written);
      for (const reading of gated?.good ?? batch.readings)
        outs.push(...step(h.rules, h.state, { kind: 'reading', reading }, batch.receivedAt).outputs);
      for (const event of batch.events)
        outs.push(...step(h.rules, h.state, { kind: 'event', event }, batch.receivedAt).outputs);
      metrics.inputs.inc({ kind: 'reading' }, batch.readings.length);
      metrics.inputs.inc({ kind: 'event' }, batch.events.length);
    }
    const now = deps.now();
    const due = nextDeadline(h.rules, h.state, now);
    if (due !== null && due <= now) outs.push(...tick(h.rules, h.state, now).outputs);
    if (rows.length > 0 || outs.length > 0) await commit(h, outs);
    return rows.length === opts.rowsPerPoll;
  }

  function schedulePoll(h: Held, ms: number): void {
    if (h.stopped || closed) return;
    h.timer = setTimeout(() => {
      onChain(h, () => poll(h)).then(
        (full) => schedulePoll(h, full ? 0 : opts.pollMs),
        (err: Error) => {
          if (!h.stopped) log.error({ partition: h.name, err: err.message }, 'rules: partition round failed');
          schedulePoll(h, opts.pollMs);
        },
      );
    }, ms);
  }

  /** Takes a partition over: its saved state, its open incidents and alerts into this host's tables. */
  async function activate(partition: string, epoch: number): Promise<void> {
    const setup = setupOf(partition);
    const saved = await store.loadRulesState(partition);
    const h: Held = {
      name: partition,
      epoch,
      rules: setup.rules,
      setup,
      state: saved ? decodeState(saved.state) : createState(setup.rules, deps.now()),
      cursor: saved?.cursor ?? 0,
      scheduled: new Map(),
      dirtyAlerts: new Set(),
      chain: Promise.resolve(),
      stopped: false,
    };
    const views = local.transaction(() => {
      const alerts: AlertView[] = [];
      for (const a of Object.values(h.state.alerts)) {
        let id = local.alertId(a.key);
        if (id === undefined || local.alert(id)?.state !== 'active') id = local.insertAlert(a);
        alerts.push(local.alert(id)!);
      }
      const incidents = Object.values(h.state.incidents.open).map((i) => {
        const v = toIncidentView(i, extrasOf(local, h.state, i));
        local.putIncident(v);
        return v;
      });
      return { alerts, incidents };
    });
    // Every host's reads answer from the shared views: this epoch's rows supersede the last holder's.
    await shareViews(h, views, deps.now());
    held.set(partition, h);
    await onChain(h, () => syncDeadlines(h, deps.now()));
    await onChain(h, () => reconcileStations(h));
    log.info({ partition, epoch, cursor: h.cursor }, 'rules: this host runs the partition');
    schedulePoll(h, 0);
  }

  /**
   * Gives a held partition up to a host with less (balancing): after the last write on its chain
   * and its views shared, the lease is freed at its epoch, so the next holder's first round takes
   * it from exactly there (as after `close`). Kept, and tried again next round, if the views cannot
   * be written now.
   */
  async function handOver(h: Held): Promise<void> {
    await onChain(h, async () => {
      await shareViews(h, { alerts: [], incidents: [] }, deps.now());
      h.stopped = true;
      clearTimeout(h.timer);
      held.delete(h.name);
      await store.releaseLease(h.name, name, h.epoch);
      metrics.handovers.inc();
      log.info({ partition: h.name, epoch: h.epoch }, 'rules: partition handed over to a host with less');
    });
  }

  /**
   * Feeds the partition the edge statuses its saved state missed: a birth or death ingested while
   * no host held the village (its holder dead, before this host took over) reached no rules
   * (`edgeStatus` feeds only held villages), so an edge that died then had no offline alert.
   * Only what disagrees is fed: an edge offline that the state has online, and the edge the
   * state has offline that is online again.
   */
  async function reconcileStations(h: Held): Promise<void> {
    const outs: RulesOutput[] = [];
    const now = deps.now();
    for (const [edge, online] of deps.edgeStatuses?.() ?? []) {
      const at = base.edgeStations.get(edge);
      if (at?.village !== h.name) continue;
      const offline = h.state.offlineStations[at.station];
      if (online ? offline?.edge !== edge : offline !== undefined) continue;
      log.info(
        { partition: h.name, edge, online },
        'rules: an edge status missed while nobody held the village',
      );
      outs.push(...step(h.rules, h.state, { kind: 'station', status: { ...at, edge, online } }, now).outputs);
    }
    if (outs.length > 0) await commit(h, outs);
  }

  let leaseRound: Promise<void> | undefined;
  function checkLeases(): Promise<void> {
    leaseRound ??= (async () => {
      // This host's beat first (before its leases, so it expires first): the live hosts share the
      // partitions, at most `share` each, so hosts started one after another end up balanced.
      await store.hostBeats.beat(name, opts.leaseMs, deps.now());
      const names = new Set([...(await store.partitions()), ...base.places.keys()]);
      const hosts = Math.max(1, (await store.hostBeats.live(deps.now())).length);
      const share = Math.ceil(names.size / hosts);
      for (const p of names) {
        if (closed) return;
        // A free partition is left to a host with less while this one has its share.
        if (!held.has(p) && held.size >= share) continue;
        const lease = await store.acquireLease(p, name, opts.leaseMs, deps.now());
        const h = held.get(p);
        if (h && lease?.epoch !== h.epoch) drop(h, 'lease lost: another host holds it now');
        if (lease && held.get(p) === undefined) await activate(p, lease.epoch);
      }
      // Above its share (a host joined): the rest goes free for the hosts below theirs.
      for (const h of [...held.values()].slice(share)) if (!closed) await handOver(h);
    })()
      .catch((err: Error) => log.error({ err: err.message }, 'rules: lease round failed'))
      .finally(() => {
        leaseRound = undefined;
      });
    return leaseRound;
  }
  void checkLeases();
  const leaseTimer = setInterval(
    () => void checkLeases(),
    opts.renewEveryMs ?? Math.max(50, Math.floor(opts.leaseMs / 3)),
  );

  // --- the HTTP side: every host reads the shared views; commands are run by the partition's holder ---
  const standby = (what: string): never => {
    throw new ApiError(503, 'rules_standby', `this host does not run the rules of ${what} now`);
  };

  /** Runs an officer's command in the partition's engine; throws IncidentCommandError when it refuses. */
  function stepCommand(h: Held, c: IncidentCommand): RulesOutput[] {
    const now = deps.now();
    try {
      if (c.action === 'arrive') return arrive(h.rules, h.state, c.incident, c.actor, now).outputs;
      if (c.action === 'resolve')
        return resolve(h.rules, h.state, c.incident, c.actor, c.closing!, now).outputs;
      const outs = acknowledge(h.rules, h.state, c.incident, c.actor, now).outputs;
      const i = h.state.incidents.open[c.incident];
      const last = i?.audit[i.audit.length - 1];
      if (c.note && last?.action === 'acknowledged') last.detail = c.note;
      return outs;
    } catch (err) {
      return incidentCommandError(err, c.incident, local.incident(c.incident));
    }
  }

  /**
   * A command on this host: run here when it holds the partition, else queued for the holder
   * (store.ruleCommands) and answered here with the holder's answer.
   */
  async function command(c: IncidentCommand): Promise<IncidentView> {
    const p = partitionOfIncident(c.incident);
    if (p === undefined) return standby(`incident ${c.incident}`);
    const h = held.get(p);
    if (!h)
      return forwardCommand(
        { commands: store.ruleCommands, waitMs: opts.commandWaitMs, now: deps.now, metrics, log },
        p,
        c,
      );
    return onChain(h, async () => {
      await commit(h, stepCommand(h, c));
      return local.incident(c.incident)!;
    });
  }

  /**
   * The holder's side: carries out a queued command on the partition's chain (ordered with its
   * journal reads) like a local one, and writes the answer. The fenced state write accepts the row
   * in its own transaction (SavedRulesState.commands), so a row carried out once, or cancelled by
   * its waiting sender, is refused with the write: RuleCommandGoneError, and commit restarts the
   * partition from its saved state, which does not have it.
   */
  async function runQueued(h: Held, c: QueuedRuleCommand): Promise<void> {
    let outs: RulesOutput[];
    try {
      outs = stepCommand(h, c);
    } catch (err) {
      if (!(err instanceof IncidentCommandError)) throw err;
      // Refused: the state did not change; the sender answers the same error a local command gives.
      await store.ruleCommands.answer(c.id, { error: { code: err.code, message: err.message } });
      return;
    }
    await commit(h, outs, [c.id]);
    await store.ruleCommands.answer(c.id, { incident: local.incident(c.incident)! });
    log.info(
      { partition: h.name, incident: c.incident, action: c.action, actor: c.actor },
      'rules: carried out a command queued by another host',
    );
  }

  // A round waits for the commands it took, so the next one never takes them again.
  let commandRound: Promise<void> | undefined;
  function takeCommands(): Promise<void> {
    commandRound ??= (async () => {
      if (held.size === 0 || closed) return;
      const queued = await store.ruleCommands.pending([...held.keys()], deps.now(), COMMANDS_PER_ROUND);
      const runs = queued.flatMap((c) => {
        const h = held.get(c.partition);
        if (!h) return [];
        return [
          onChain(h, () => runQueued(h, c)).catch((err: Error) =>
            log.error(
              { partition: c.partition, incident: c.incident, err: err.message },
              'rules: a queued command failed',
            ),
          ),
        ];
      });
      await Promise.all(runs);
    })()
      .catch((err: Error) => log.error({ err: err.message }, 'rules: command round failed'))
      .finally(() => {
        commandRound = undefined;
      });
    return commandRound;
  }
  const commandTimer = setInterval(() => void takeCommands(), opts.pollMs);

  const runtime: RulesRuntime = {
    // Every village of the caller's scope, whichever host holds it (the routes narrowed `q` to the scope).
    alerts: (q: AlertQuery) => store.ruleViews.alerts(q),
    incidents: (q: IncidentQuery) => store.ruleViews.incidents(q),
    incident: (id) => store.ruleViews.incident(id),
    acknowledge: (incident, actor, note) =>
      command({ incident, action: 'acknowledge', actor, ...(note ? { note } : {}) }),
    arrive: (incident, actor) => command({ incident, action: 'arrive', actor }),
    resolve: (incident, actor, closing) => command({ incident, action: 'resolve', actor, closing }),
    slaInput: async ({ from, to, villages }) => ({
      incidents: (await store.ruleViews.incidents({ from, to, villages, limit: 1_000_000 })).map(
        incidentOfView,
      ),
      now: deps.now(),
      targetMs: base.ackDeadlineMs,
      placeOf: (v) => base.places.get(v),
    }),
    edgeStatus(edge, online) {
      const at = base.edgeStations.get(edge);
      const h = at && held.get(at.village);
      // A birth or death ingested by a host that does not hold its village is not fed (docs/scaling.md).
      if (!at || !h) return;
      onChain(h, () =>
        commit(
          h,
          step(h.rules, h.state, { kind: 'station', status: { ...at, edge, online } }, deps.now()).outputs,
        ),
      ).catch((err: Error) =>
        log.error({ partition: h.name, err: err.message }, 'rules: edge status failed'),
      );
    },
    // The whole log, whichever hosts sent its notices (the routes checked the incident is the caller's).
    deliveries: (id) => store.deliveries.byIncident(id),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => close(),
  };

  async function close(o: { release?: boolean } = {}): Promise<void> {
    if (closed) return;
    closed = true;
    clearInterval(leaseTimer);
    clearInterval(commandTimer);
    await leaseRound;
    // A clean stop: the other hosts count one host fewer at once and take its share.
    if (o.release !== false)
      await store.hostBeats
        .leave(name)
        .catch((err: Error) => log.error({ err: err.message }, 'rules: leaving the host beats failed'));
    await commandRound;
    await firer.close();
    for (const h of [...held.values()]) {
      clearTimeout(h.timer);
      await h.chain;
      h.stopped = true;
      // After the last state write: another host takes over from exactly here, without waiting.
      if (o.release !== false)
        await store
          .releaseLease(h.name, name, h.epoch)
          .catch((err: Error) =>
            log.error({ partition: h.name, err: err.message }, 'rules: lease release failed'),
          );
    }
    held.clear();
    await dispatcher.close();
    await air?.close();
    await deliveryLog.close();
  }

  return {
    runtime,
    routes: [createAlertRoutes(runtime), createIncidentRoutes(runtime), ...(air?.routes ?? [])],
    held: () => [...held.keys()],
    applyRegistry(registry) {
      // Compiled first: a registry the rules refuse changes nothing here.
      compileSetup(config.rules, registry);
      registryFile = registry;
      applyRegistryToRules(base, config.rules, registry);
      for (const h of held.values()) applyRegistryToRules(h.setup, sectionOf(h.name), registry);
    },
    checkLeases,
    takeCommands,
    close,
  };
}
