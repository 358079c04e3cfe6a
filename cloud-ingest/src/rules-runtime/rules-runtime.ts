import type { DeviceEvent, Reading, Severity } from '@village/protocol';
import {
  type EngineState,
  type Incident,
  type IncidentClosing,
  RulesError,
  type RulesOutput,
  type VillagePlace,
  acknowledge,
  arrive,
  createState,
  nextDeadline,
  resolve,
  restoreState,
  serializeState,
  step,
  tick,
} from '@village/rules';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CommittedFeed } from '../ingest/committed-feed.js';
import type { Delivery } from '../notify/delivery-store.js';
import type { NotificationDispatcher } from '../notify/notification-dispatcher.js';
import type { PlaceTags, SinkBatch } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { learnDevices } from './device-places.js';
import { IncidentCommandError, incidentCommandError } from './incident-command-error.js';
import { type IncidentView, incidentOfView } from './incident-view.js';
import { projectOutputs } from './output-projector.js';
import type { RulesSetup } from './rules-from-registry.js';
import { createRulesMetrics } from './rules-metrics.js';
import {
  type AlertQuery,
  type AlertView,
  type IncidentQuery,
  type RulesStore,
  type VillageFilter,
  openRulesStore,
} from './rules-store.js';

/** What live listeners (the SSE stream) receive after each committed change. */
export type RulesChange = { type: 'alert'; alert: AlertView } | { type: 'incident'; incident: IncidentView };

/** What the SLA figures are computed from; the routes shape them (http/sla-figures.ts). */
export interface SlaInput {
  incidents: Incident[];
  /** ms epoch: an incident still unacknowledged counts against the target from here. */
  now: number;
  /** The response target, ms. */
  targetMs: number;
  /** A village's town and county. */
  placeOf(village: string): VillagePlace | undefined;
}

export interface RulesRuntime {
  /** Reads: a promise where they are across the network (several hosts: the shared views). */
  alerts(q: AlertQuery): AlertView[] | Promise<AlertView[]>;
  incidents(q: IncidentQuery): IncidentView[] | Promise<IncidentView[]>;
  incident(id: string): IncidentView | undefined | Promise<IncidentView | undefined>;
  /** A command answers once its state is written (a promise where that write is across the network). */
  acknowledge(id: string, actor: string, note?: string): IncidentView | Promise<IncidentView>;
  resolve(id: string, actor: string, closing: IncidentClosing): IncidentView | Promise<IncidentView>;
  /** The optional "arrived on scene" step of an acknowledged incident. */
  arrive(id: string, actor: string): IncidentView | Promise<IncidentView>;
  /** The incidents of the range and the caller's villages, for the SLA figures (http/sla-figures.ts). */
  slaInput(q: { from?: number; to?: number; villages: VillageFilter }): SlaInput | Promise<SlaInput>;
  /**
   * An edge's applied birth (online) or death (offline): an offline edge is one 'edge offline'
   * incident for its station, and the bands behind it raise no silence meanwhile.
   */
  edgeStatus(edge: string, online: boolean): void;
  /** An incident's delivery log (a promise where it is across the network: several hosts' shared log). */
  deliveries(incidentId: string): Delivery[] | Promise<Delivery[]>;
  /** Live alerts and incidents; returns the unsubscribe function. */
  onChange(listener: (change: RulesChange) => void): () => void;
  /** Writes pending state, stops timers and the feed. */
  close(): Promise<void>;
}

/** The one-host runtime: its reads are cloud.db's, answered at once. */
export interface LocalRulesRuntime extends RulesRuntime {
  alerts(q: AlertQuery): AlertView[];
  incidents(q: IncidentQuery): IncidentView[];
  incident(id: string): IncidentView | undefined;
  slaInput(q: { from?: number; to?: number; villages: VillageFilter }): SlaInput;
}

export interface RulesRuntimeDeps {
  db: Db;
  setup: RulesSetup;
  committed: CommittedFeed;
  dispatcher: NotificationDispatcher;
  log: Logger;
  registry: Registry;
  now(): number;
  /** Longest delay before state changes that no officer sees yet (counts, held conditions) are written, ms. */
  persistIntervalMs: number;
  /** Where an edge is: replayed events learn their device's place from it, as live batches do. */
  placeOf(edgeId: string): PlaceTags;
  /**
   * Set when `committed` is the committed-batch journal of several workers (journal-tail.ts): its
   * cursor is written by `saveCursor` inside every state transaction, so state and cursor never
   * disagree after a crash, and the journal replays everything after it (readings too). The
   * events-table cursor is then not used: the events table's order is not the journal's.
   */
  journal?: { saveCursor(): void };
  /**
   * Quality control (quality-flags.ts) and the AQI publisher run on every committed batch before
   * the rules; only the readings it returns (flagged N) reach the rules.
   */
  qualityGate?(batch: SinkBatch): readonly Reading[];
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const SCAN_LIMIT = 1_000_000;

/**
 * Runs the rules engine in the cloud: every committed batch's readings and events go through
 * `step` (with `now` = the batch's receipt time, so late data opens late incidents whose
 * deadline runs from receipt), one timer is armed at `nextDeadline` for `tick`, and state,
 * alerts, incidents and notifications are written to cloud.db.
 *
 * Crash semantics. Anything an officer sees or is told (an alert raised or cleared, an incident
 * opened, escalated, acknowledged, resolved, a notification) is written with the engine state
 * in one transaction before it is announced or sent. Changes nobody sees yet (a repeat count, a
 * held condition ticking on) are written at most `persistIntervalMs` later, batched, to keep
 * the ingest path cheap. The state row carries the id of the last committed event the engine
 * had seen; on start, committed events after it are fed again (at-least-once for alarms, even
 * if the process died between the sink's commit and the rules' write). Readings in that short
 * window are not fed again: a held condition simply judges the next reading. Alerts are keyed
 * (rule + subject), so a replayed trigger adds to a count and never raises a second alert.
 */
export function startRulesRuntime(deps: RulesRuntimeDeps): LocalRulesRuntime {
  const { setup, log } = deps;
  const rules = setup.rules;
  const store: RulesStore = openRulesStore(deps.db);
  const metrics = createRulesMetrics(deps.registry);
  const listeners = new Set<(c: RulesChange) => void>();

  const saved = store.loadState();
  let state: EngineState;
  let cursor: number;
  if (saved) {
    state = restoreState(saved.state);
    cursor = saved.eventsCursor;
  } else if (deps.journal) {
    state = createState(rules, deps.now());
    cursor = 0;
  } else {
    state = createState(rules, deps.now());
    // A first start judges data from now on, not the history already stored.
    cursor = store.maxEventId();
  }

  let pending: RulesOutput[] = [];
  const dirtyAlerts = new Set<string>();
  let stateDirty = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let closed = false;

  /** Applies queued outputs to the tables and writes the state, in one transaction. */
  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!stateDirty && pending.length === 0 && dirtyAlerts.size === 0) return;
    const outs = pending;
    pending = [];
    const now = deps.now();
    const { changedAlerts, changedIncidents, sendSoon } = store.transaction(() => {
      const projection = projectOutputs(
        { store, setup, dispatcher: deps.dispatcher, metrics },
        state,
        outs,
        dirtyAlerts,
        now,
      );
      store.saveState(serializeState(state), cursor, now);
      deps.journal?.saveCursor();
      return projection;
    });
    stateDirty = false;
    metrics.persists.inc();
    if (sendSoon) deps.dispatcher.kick();
    if (listeners.size > 0) {
      for (const id of changedAlerts) {
        const alert = store.alert(id);
        if (alert) emit({ type: 'alert', alert });
      }
      for (const incident of changedIncidents.values()) emit({ type: 'incident', incident });
    }
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

  /** Queues outputs; writes at once when any of them is visible to officers, else soon. */
  function take(outputs: RulesOutput[]): void {
    let visible = false;
    for (const o of outputs) {
      if (o.type === 'input-rejected') {
        metrics.rejected.inc({ reason: o.reason });
        continue;
      }
      if (o.type === 'alert-repeated') {
        dirtyAlerts.add(o.key);
        continue;
      }
      pending.push(o);
      visible = true;
    }
    stateDirty = true;
    if (visible || deps.persistIntervalMs === 0) flush();
    else flushTimer ??= setTimeout(guard(flush), deps.persistIntervalMs);
  }

  function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      if (closed) return;
      try {
        fn(...args);
      } catch (err) {
        log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'rules runtime failed');
      }
    };
  }

  function arm(): void {
    clearTimeout(deadlineTimer);
    if (closed) return;
    const now = deps.now();
    const at = nextDeadline(rules, state, now);
    if (at === null) return;
    deadlineTimer = setTimeout(
      guard(() => {
        take(tick(rules, state, deps.now()).outputs);
        arm();
      }),
      Math.min(MAX_TIMER_MS, Math.max(0, at - now)),
    );
  }

  function stepEvent(e: DeviceEvent, receivedAt: number, out: RulesOutput[]): void {
    for (const o of step(rules, state, { kind: 'event', event: e }, receivedAt).outputs) out.push(o);
  }

  function feed(batch: SinkBatch): void {
    const now = batch.receivedAt;
    learnDevices(rules, batch.place, batch.readings);
    learnDevices(rules, batch.place, batch.events);
    const out: RulesOutput[] = [];
    for (const reading of deps.qualityGate ? deps.qualityGate(batch) : batch.readings) {
      const r = step(rules, state, { kind: 'reading', reading }, now).outputs;
      for (const o of r) out.push(o);
    }
    for (const e of batch.events) stepEvent(e, now, out);
    metrics.inputs.inc({ kind: 'reading' }, batch.readings.length);
    metrics.inputs.inc({ kind: 'event' }, batch.events.length);
    // Ingest is serial and calls this right after the batch's commit: its events are the newest rows.
    if (batch.events.length > 0 && !deps.journal) cursor = store.maxEventId();
    take(out);
    arm();
  }

  // Catch up: committed events the engine never saw (a crash between commit and rules write).
  const missed = deps.journal ? [] : store.eventsAfter(cursor);
  if (missed.length > 0) {
    const out: RulesOutput[] = [];
    for (const e of missed) {
      const ev: DeviceEvent = {
        device: e.device,
        type: e.type,
        severity: e.severity as Severity,
        ts: e.ts,
        data: e.data as DeviceEvent['data'],
      };
      learnDevices(rules, deps.placeOf(e.edge), [ev]);
      stepEvent(ev, e.receivedAt, out);
      cursor = e.id;
    }
    metrics.inputs.inc({ kind: 'replayed_event' }, missed.length);
    log.info({ events: missed.length }, 'rules: fed committed events the engine had not seen');
    pending.push(...out.filter((o) => o.type !== 'input-rejected' && o.type !== 'alert-repeated'));
    for (const o of out) if (o.type === 'alert-repeated') dirtyAlerts.add(o.key);
    stateDirty = true;
  }
  // A deadline that passed while the cloud was down fires now (every missed level is notified).
  for (const o of tick(rules, state, deps.now()).outputs) pending.push(o);
  stateDirty = true;
  flush();
  deps.dispatcher.kick();
  const unsubscribe = deps.committed.subscribe(guard(feed));
  arm();
  log.info(
    {
      people: rules.people.length,
      thresholds: [...rules.thresholdsByMetric.values()].reduce((n, l) => n + l.length, 0),
      openIncidents: Object.keys(state.incidents.open).length,
      ackDeadlineMs: setup.ackDeadlineMs,
    },
    'rules runtime ready',
  );

  function command(id: string, run: () => RulesOutput[]): IncidentView {
    flush();
    let outs: RulesOutput[];
    try {
      outs = run();
    } catch (err) {
      incidentCommandError(err, id, store.incident(id));
    }
    take(outs);
    arm();
    return store.incident(id)!;
  }

  return {
    alerts: (q) => store.alerts(q),
    incidents: (q) => store.incidents(q),
    incident: (id) => store.incident(id),
    acknowledge(id, actor, note) {
      return command(id, () => {
        const outs = acknowledge(rules, state, id, actor, deps.now()).outputs;
        const i = state.incidents.open[id];
        const last = i?.audit[i.audit.length - 1];
        if (note && last?.action === 'acknowledged') last.detail = note;
        return outs;
      });
    },
    arrive: (id, actor) => command(id, () => arrive(rules, state, id, actor, deps.now()).outputs),
    resolve: (id, actor, closing) =>
      command(id, () => resolve(rules, state, id, actor, closing, deps.now()).outputs),
    slaInput: ({ from, to, villages }) => ({
      incidents: store.incidents({ from, to, villages, limit: SCAN_LIMIT }).map(incidentOfView),
      now: deps.now(),
      targetMs: setup.ackDeadlineMs,
      placeOf: (v) => setup.places.get(v),
    }),
    edgeStatus(edge, online) {
      const at = setup.edgeStations.get(edge);
      if (!at || closed) return;
      guard(() => {
        take(step(rules, state, { kind: 'station', status: { ...at, edge, online } }, deps.now()).outputs);
        arm();
      })();
    },
    deliveries: (id) => deps.dispatcher.deliveries(id),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      unsubscribe();
      clearTimeout(deadlineTimer);
      try {
        flush();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'rules: last state write failed');
      }
      closed = true;
      clearTimeout(flushTimer);
      await deps.dispatcher.close();
    },
  };
}
