import type { CompiledRules, EngineState } from '@village/rules';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { NotificationDispatcher } from '../notify/notification-dispatcher.js';
import type { Deadline, SharedStore } from '../shared-store/shared-store.js';
import { escalationPayloadOf, nextEscalation } from './escalation-deadline.js';
import { composeIncidentNotification } from './incident-notification.js';
import { toIncidentView } from './incident-view.js';
import { decodeState } from './partition-state.js';
import type { RulesSetup } from './rules-from-registry.js';

export interface DeadlineFirer {
  /** One round: fires what is due now; resolves with how many rows it claimed. */
  fireOnce(): Promise<number>;
  close(): Promise<void>;
}

/** Rows claimed per round; more wait for the next one (which starts at once when a round was full). */
const ROUND = 32;

/**
 * Fires the incident escalations of every rules partition, on every host with rules enabled
 * (docs/scaling.md "Rules across hosts"): every `intervalMs` it claims the due deadline rows
 * that no other host is firing (`fireDue`, FOR UPDATE SKIP LOCKED on PostgreSQL) and, for each
 * whose incident the partition's saved state still has unacknowledged, queues the escalation
 * notice on this host's dispatcher (inside the claim: a crash before the commit leaves the row
 * for the next host, at-least-once) and schedules the row after it. So an escalation goes out
 * within about `intervalMs` of its deadline even while the partition's owner is dead or frozen;
 * the owner never sends escalation notices itself (partitioned-rules.ts), so one deadline is one
 * notice whoever fires it, and the owner's engine catches up on its own next tick.
 */
export function startDeadlineFirer(deps: {
  store: SharedStore;
  rules: CompiledRules;
  setup: Pick<RulesSetup, 'places' | 'displayName'>;
  dispatcher: NotificationDispatcher;
  log: Logger;
  registry: Registry;
  now(): number;
  intervalMs: number;
}): DeadlineFirer {
  const { store, log } = deps;
  const opts = deps.rules.incidents;
  const fired = new Counter({
    name: 'cloud_rules_deadlines_fired_total',
    help: 'Escalation deadline rows this host claimed, by result (notified, stale: acknowledged or resolved meanwhile, bad_row)',
    labelNames: ['result'],
    registers: [deps.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let closed = false;

  /** One round's view of the partitions' saved states: read once per partition, not once per row. */
  type States = Map<string, Promise<EngineState | undefined>>;
  const stateOf = (states: States, partition: string) => {
    let s = states.get(partition);
    if (!s) {
      s = store.loadRulesState(partition).then((saved) => saved && decodeState(saved.state));
      states.set(partition, s);
    }
    return s;
  };

  async function fire(d: Deadline, next: Deadline[], states: States): Promise<void> {
    const p = escalationPayloadOf(d.payload);
    if (!p) {
      // Not a row this code wrote: dropping it (with the claim's commit) is deliberate and counted.
      fired.inc({ result: 'bad_row' });
      log.error({ deadline: d.key, partition: d.partition }, 'deadline row with an unknown payload dropped');
      return;
    }
    const state = await stateOf(states, d.partition);
    const i = state?.incidents.open[p.incidentId];
    if (!i || i.status !== 'open') {
      // Acknowledged or resolved (the owner saves that before it cancels the row): nothing to tell.
      fired.inc({ result: 'stale' });
      return;
    }
    const now = deps.now();
    const first = state.alerts[i.alerts[0] ?? ''];
    const v = toIncidentView(i, {
      title: first?.message ?? i.alerts[0] ?? i.id,
      text: first?.text ?? null,
      station: i.station,
      escalations: [],
      alerts: [],
    });
    const n = composeIncidentNotification(
      { type: 'notify', incidentId: p.incidentId, village: p.village, level: p.level, reason: 'escalated' },
      v,
      deps.setup,
    );
    // One deadline, one delivery key: firing the same row again after a crash is deduped here.
    deps.dispatcher.enqueue(n.message, `deadline|${d.key}`, n.body, now);
    next.push(nextEscalation(d, p, opts));
    fired.inc({ result: 'notified' });
    log.info(
      { incident: p.incidentId, notifyLevel: p.level, dueAt: d.dueAt, lateMs: now - d.dueAt },
      'rules: escalation deadline fired',
    );
  }

  async function round(): Promise<number> {
    let total = 0;
    for (;;) {
      const next: Deadline[] = [];
      const states: States = new Map();
      const n = await store.fireDue(deps.now(), ROUND, (d) => fire(d, next, states));
      total += n;
      if (n > 0) deps.dispatcher.kick();
      // After the claim's commit, not inside it: the store may hold its one connection for the claim.
      await Promise.all(next.map((d) => store.scheduleDeadline(d)));
      if (n < ROUND || closed) return total;
    }
  }

  function fireOnce(): Promise<number> {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  }

  function loop(): void {
    timer = undefined;
    if (closed) return;
    fireOnce()
      .catch((err: Error) => log.error({ err: err.message }, 'rules: deadline round failed'))
      .finally(() => {
        if (!closed) timer = setTimeout(loop, deps.intervalMs);
      });
  }
  loop();

  return {
    fireOnce,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
