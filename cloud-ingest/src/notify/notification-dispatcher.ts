import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../store/open-database.js';
import { type Delivery, type DeliveryStore, openDeliveryStore } from './delivery-store.js';
import { type NotificationMessage, type Notifier, backoffDelay } from './notifier.js';

export interface NotificationDispatcher {
  /**
   * Records one pending delivery per notifier that wants the message. Call inside the
   * transaction that persists the state change behind it, then `kick()` after the commit.
   */
  enqueue(m: Omit<NotificationMessage, 'deliveryKey'>, key: string, body: string, now: number): void;
  /** Sends whatever is due now (also resumes deliveries left pending by a restart). */
  kick(): void;
  deliveries(incidentId: string): Delivery[];
  close(): Promise<void>;
}

/** Deliveries attempted at once; more wait for the next round. */
const ROUND = 32;
/** Longest a timer is armed for (setTimeout takes at most 2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Persistent fan-out of incident notifications with retries: every delivery is a row in
 * `notifications` before anything is sent, so a crash or restart resumes the pending ones, and
 * each row keeps its attempts, times and last error (the delivery log).
 */
export function createNotificationDispatcher(deps: {
  db: Db;
  notifiers: Notifier[];
  log: Logger;
  now(): number;
  registry: Registry;
  /** Called with a delivery's key after it was queued or attempted (several hosts share the log). */
  onChange?(key: string): void;
}): NotificationDispatcher {
  const store: DeliveryStore = openDeliveryStore(deps.db);
  const byChannel = new Map(deps.notifiers.map((n) => [n.channel, n]));
  const outcomes = new Counter({
    name: 'cloud_notification_attempts_total',
    help: 'Notification delivery attempts, by channel and result (delivered, retry, failed)',
    labelNames: ['channel', 'result'],
    registers: [deps.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  async function round(): Promise<void> {
    for (;;) {
      again = false;
      const now = deps.now();
      const due = store.due(now, ROUND);
      await Promise.all(due.map(attempt));
      if (!again && due.length < ROUND) break;
      if (closed) return;
    }
    arm();
  }

  async function attempt(d: ReturnType<DeliveryStore['due']>[number]): Promise<void> {
    const n = byChannel.get(d.channel);
    const now = deps.now();
    if (!n) {
      // The channel was removed from cloud.yaml since this delivery was queued.
      store.failed(d.id, `no notifier ${d.channel} configured any more`, now, null);
      deps.onChange?.(d.message.deliveryKey);
      return;
    }
    try {
      await n.deliver(d.message, d.body);
      if (closed) return;
      store.delivered(d.id, deps.now());
      deps.onChange?.(d.message.deliveryKey);
      outcomes.inc({ channel: n.channel, result: 'delivered' });
      deps.log.info(
        {
          channel: n.channel,
          incident: d.message.incidentId,
          notifyLevel: d.message.level,
          reason: d.message.reason,
        },
        'notification delivered',
      );
    } catch (err) {
      if (closed) return;
      const tries = d.attempts + 1;
      const nextAt = tries >= n.retry.maxAttempts ? null : deps.now() + backoffDelay(n.retry, tries);
      store.failed(d.id, (err as Error).message, now, nextAt);
      deps.onChange?.(d.message.deliveryKey);
      outcomes.inc({ channel: n.channel, result: nextAt === null ? 'failed' : 'retry' });
      deps.log.warn(
        {
          channel: n.channel,
          incident: d.message.incidentId,
          attempt: tries,
          nextAt,
          err: (err as Error).message,
        },
        nextAt === null ? 'notification given up' : 'notification failed, will retry',
      );
    }
  }

  function arm(): void {
    clearTimeout(timer);
    if (closed) return;
    const at = store.nextDueAt();
    if (at === null) return;
    timer = setTimeout(kick, Math.min(MAX_TIMER_MS, Math.max(0, at - deps.now())));
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = round()
      .catch((err: Error) => deps.log.error({ err: err.message }, 'notification round failed'))
      .finally(() => {
        running = undefined;
        if (again) kick();
      });
  }

  return {
    enqueue(m, key, body, now) {
      for (const n of deps.notifiers) {
        const msg = { ...m, deliveryKey: `${n.channel}|${key}` };
        if (!n.wants(msg)) continue;
        store.insert(n.channel, msg, body, now);
        deps.onChange?.(msg.deliveryKey);
      }
    },
    kick,
    deliveries: (id) => store.byIncident(id),
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
