import type { DeviceEvent, Reading, Severity } from '@village/protocol';
import {
  type EngineState,
  type Incident,
  type IncidentClosing,
  type PlaceSla,
  RulesError,
  type RulesOutput,
  acknowledge,
  arrive,
  createState,
  nextDeadline,
  renderAlertText,
  resolve,
  restoreState,
  serializeState,
  slaByPlace,
  slaByVillage,
  step,
  tick,
} from '@village/rules';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CommittedFeed } from '../ingest/committed-feed.js';
import type { NotificationDispatcher } from '../notify/notification-dispatcher.js';
import type { PlaceTags, SinkBatch } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import { type IncidentView, type ViewExtras, incidentOfView, toIncidentView } from './incident-view.js';
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

export interface VillageSlaView {
  village: string;
  incidents: number;
  acknowledged: number;
  withinTarget: number;
  withinTargetShare: number | null;
  medianResponseMs: number | null;
  p90ResponseMs: number | null;
  late: number;
}

/** An incident command the current state refuses; `status` is what the API answers. */
export class IncidentCommandError extends Error {
  override readonly name = 'IncidentCommandError';
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RulesRuntime {
  alerts(q: AlertQuery): AlertView[];
  incidents(q: IncidentQuery): IncidentView[];
  incident(id: string): IncidentView | undefined;
  acknowledge(id: string, actor: string, note?: string): IncidentView;
  resolve(id: string, actor: string, closing: IncidentClosing): IncidentView;
  /** The optional "arrived on scene" step of an acknowledged incident. */
  arrive(id: string, actor: string): IncidentView;
  sla(q: { from?: number; to?: number; villages: VillageFilter }): VillageSlaView[];
  /**
   * An edge's applied birth (online) or death (offline): an offline edge is one 'edge offline'
   * incident for its station, and the bands behind it raise no silence meanwhile.
   */
  edgeStatus(edge: string, online: boolean): void;
  /** Per village, town and county, over every response (joined alerts and re-arms included). */
  slaByPlace(q: { from?: number; to?: number; villages: VillageFilter }): PlaceSla[];
  deliveries: NotificationDispatcher['deliveries'];
  /** Live alerts and incidents; returns the unsubscribe function. */
  onChange(listener: (change: RulesChange) => void): () => void;
  /** Writes pending state, stops timers and the feed. */
  close(): Promise<void>;
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
export function startRulesRuntime(deps: RulesRuntimeDeps): RulesRuntime {
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

  function extrasOf(i: Incident): ViewExtras {
    const prev = store.incident(i.id);
    const first = state.alerts[i.alerts[0]!];
    return {
      title: prev?.title ?? first?.message ?? i.alerts[0] ?? i.id,
      text: prev?.text ?? first?.text ?? null,
      station: prev?.station ?? first?.subject.station ?? null,
      escalations: prev?.escalations ?? [],
      alerts: i.alerts.map((k) => store.alertId(k)).filter((x): x is number => x !== undefined),
    };
  }

  /** Applies queued outputs to the tables and writes the state, in one transaction. */
  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!stateDirty && pending.length === 0 && dirtyAlerts.size === 0) return;
    const outs = pending;
    pending = [];
    const now = deps.now();
    const changedAlerts = new Set<number>();
    const changedIncidents = new Map<string, IncidentView>();
    let sendSoon = false;
    store.transaction(() => {
      const putIncident = (i: Incident, mutate?: (v: IncidentView) => void) => {
        const v = toIncidentView(i, extrasOf(i));
        mutate?.(v);
        store.putIncident(v);
        changedIncidents.set(v.id, v);
        return v;
      };
      const current = (id: string): Incident | undefined => state.incidents.open[id];
      for (const o of outs) {
        metrics.outputs.inc({ type: o.type });
        switch (o.type) {
          case 'alert-raised':
            // Repeats in the same flush are written from the live state just below.
            changedAlerts.add(store.insertAlert(o.alert));
            break;
          case 'alert-cleared': {
            const id = store.clearAlert(o.alert, o.at);
            if (id !== undefined) changedAlerts.add(id);
            dirtyAlerts.delete(o.key);
            break;
          }
          case 'incident-opened':
          case 'incident-joined':
          case 'incident-rearmed':
          case 'incident-arrived':
          case 'incident-arrival-overdue':
          case 'incident-acknowledged': {
            const id = o.type === 'incident-opened' ? o.incident.id : o.incidentId;
            const i = current(id) ?? (o.type === 'incident-opened' ? o.incident : undefined);
            if (i) putIncident(i);
            break;
          }
          case 'incident-escalated': {
            const i = current(o.incidentId);
            // After the county the same level is notified again each step: one entry per deadline.
            if (i)
              putIncident(i, (v) => {
                if (!v.escalations.some((e) => e.dueAt === o.dueAt))
                  v.escalations.push({ level: o.level, at: o.at, dueAt: o.dueAt });
              });
            break;
          }
          case 'incident-resolved':
            putIncident(o.incident);
            break;
          case 'notify': {
            const v = changedIncidents.get(o.incidentId) ?? store.incident(o.incidentId);
            const places = setup.places.get(o.village);
            const place =
              o.level === 'town' ? places?.town : o.level === 'county' ? places?.county : o.village;
            const message = {
              incidentId: o.incidentId,
              village: o.village,
              level: o.level,
              place: place ?? o.village,
              reason: o.reason,
            };
            // The audit length tells apart two joins (or two notices) of the same incident.
            const key = `${o.incidentId}|${o.level}|${o.reason}|${v?.audit.length ?? 0}`;
            // Structured fields plus a Chinese text for SMS and duty phones; names masked above the village.
            const text = v?.text ?? null;
            const textZh = text ? renderAlertText(text, 'zh', (id) => setup.displayName(id, o.level)) : null;
            const body = JSON.stringify({
              type: 'incident',
              notification: key,
              ...message,
              text,
              textZh,
              incident: v,
            });
            deps.dispatcher.enqueue(message, key, body, now);
            sendSoon = true;
            break;
          }
          case 'input-rejected':
          case 'alert-repeated':
            break;
        }
      }
      for (const key of dirtyAlerts) {
        const a = state.alerts[key];
        const id = a && store.updateAlertCount(a);
        if (id !== undefined) changedAlerts.add(id);
      }
      dirtyAlerts.clear();
      store.saveState(serializeState(state), cursor, now);
      deps.journal?.saveCursor();
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

  /**
   * Devices are learned from their edge's station, so a new sensor needs no rules config. The live
   * feed and the replay after a crash both call this, so a replayed event is judged as it would
   * have been live (learned devices live only in memory: after a restart the replay relearns them).
   */
  function learnDevices(place: PlaceTags, items: Iterable<{ device: string }>): void {
    const village = place.village;
    if (village === null) return;
    const where = place.station === null ? { village } : { village, station: place.station };
    for (const { device } of items)
      if (!rules.devices.has(device) && !rules.peopleByDevice.has(device)) rules.devices.set(device, where);
  }

  function stepEvent(e: DeviceEvent, receivedAt: number, out: RulesOutput[]): void {
    for (const o of step(rules, state, { kind: 'event', event: e }, receivedAt).outputs) out.push(o);
  }

  function feed(batch: SinkBatch): void {
    const now = batch.receivedAt;
    learnDevices(batch.place, batch.readings);
    learnDevices(batch.place, batch.events);
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
      learnDevices(deps.placeOf(e.edge), [ev]);
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
      if (!(err instanceof RulesError)) throw err;
      const stored = store.incident(id);
      if (err.code === 'unknown_incident') {
        if (stored)
          throw new IncidentCommandError(409, 'bad_transition', `incident ${id} is ${stored.state}`);
        throw new IncidentCommandError(404, 'unknown_incident', `no incident ${id}`);
      }
      if (err.code === 'bad_transition') throw new IncidentCommandError(409, err.code, err.message);
      throw new IncidentCommandError(400, err.code, err.message);
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
    sla({ from, to, villages }) {
      const list = store.incidents({ from, to, villages, limit: SCAN_LIMIT }).map(incidentOfView);
      return slaByVillage(list, { now: deps.now(), targetMs: setup.ackDeadlineMs }).map((s) => ({
        village: s.village,
        incidents: s.incidents,
        acknowledged: list.filter((i) => i.village === s.village && i.acknowledgedAt !== null).length,
        withinTarget: s.acknowledgedWithinTarget,
        withinTargetShare: s.shareWithinTarget,
        medianResponseMs: s.medianResponseMs,
        p90ResponseMs: s.p90ResponseMs,
        late: s.late,
      }));
    },
    edgeStatus(edge, online) {
      const at = setup.edgeStations.get(edge);
      if (!at || closed) return;
      guard(() => {
        take(step(rules, state, { kind: 'station', status: { ...at, edge, online } }, deps.now()).outputs);
        arm();
      })();
    },
    slaByPlace({ from, to, villages }) {
      const list = store.incidents({ from, to, villages, limit: SCAN_LIMIT }).map(incidentOfView);
      return slaByPlace(list, (v) => setup.places.get(v), { now: deps.now(), targetMs: setup.ackDeadlineMs });
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
