import type { NotificationIntent } from '@village/rules';
/**
 * One way of telling officers about an incident (a webhook, an MQTT topic). The dispatcher
 * persists each delivery, calls `deliver` with the same body on every attempt, and retries a
 * failure with exponential backoff up to `retry.maxAttempts`.
 */
export interface NotificationMessage {
  /** Stable per notification and channel: the receiver's dedupe key (X-Village-Delivery). */
  deliveryKey: string;
  incidentId: string;
  village: string;
  /** Escalation level notified: village, town or county. */
  level: string;
  /** Registry id of the place at that level (the village, its town or its county). */
  place: string;
  reason: NotificationIntent['reason'];
}

export interface RetryPolicy {
  maxAttempts: number;
  /** Wait before the first retry, ms; doubles per attempt. */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface Notifier {
  /** Channel name in the delivery log, e.g. `webhook:ops` or `mqtt`. */
  readonly channel: string;
  readonly retry: RetryPolicy;
  wants(m: NotificationMessage): boolean;
  /** Resolves once delivered; rejects with a reason to retry later. */
  deliver(m: NotificationMessage, body: string): Promise<void>;
}

/** Wait before attempt `attempt + 1` after `attempt` failed ones (attempt >= 1), ms. */
export function backoffDelay(p: RetryPolicy, attempt: number): number {
  return Math.min(p.maxBackoffMs, p.backoffMs * 2 ** Math.max(0, attempt - 1));
}
