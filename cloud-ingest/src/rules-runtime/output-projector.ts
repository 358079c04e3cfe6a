import type { EngineState, Incident, RulesOutput } from '@village/rules';
import type { NotificationDispatcher } from '../notify/notification-dispatcher.js';
import { composeIncidentNotification } from './incident-notification.js';
import { type IncidentView, type ViewExtras, toIncidentView } from './incident-view.js';
import type { RulesSetup } from './rules-from-registry.js';
import type { RulesMetrics } from './rules-metrics.js';
import type { RulesStore } from './rules-store.js';

export interface ProjectorDeps {
  store: RulesStore;
  setup: RulesSetup;
  dispatcher: NotificationDispatcher;
  metrics: RulesMetrics;
}

/** What one projection changed: for the live listeners, and whether the dispatcher has work. */
export interface Projection {
  changedAlerts: Set<number>;
  changedIncidents: Map<string, IncidentView>;
  sendSoon: boolean;
}

/** The view fields the engine's incident does not hold: kept from the stored view, else from its first alert. */
export function extrasOf(store: RulesStore, state: EngineState, i: Incident): ViewExtras {
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

/**
 * Writes queued rules outputs to the tables (alerts, incidents, notification deliveries), then the
 * repeat counts of `dirtyAlerts` (emptied here). Runs inside the caller's transaction, which also
 * writes the engine state, so what officers see and the state commit together.
 */
export function projectOutputs(
  deps: ProjectorDeps,
  state: EngineState,
  outs: readonly RulesOutput[],
  dirtyAlerts: Set<string>,
  now: number,
): Projection {
  const { store, metrics } = deps;
  const changedAlerts = new Set<number>();
  const changedIncidents = new Map<string, IncidentView>();
  let sendSoon = false;
  const putIncident = (i: Incident, mutate?: (v: IncidentView) => void) => {
    const v = toIncidentView(i, extrasOf(store, state, i));
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
        const n = composeIncidentNotification(o, v, deps.setup);
        deps.dispatcher.enqueue(n.message, n.key, n.body, now);
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
  return { changedAlerts, changedIncidents, sendSoon };
}
