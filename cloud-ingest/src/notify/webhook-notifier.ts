import { createHmac } from 'node:crypto';
import type { NotificationMessage, Notifier } from './notifier.js';
import type { WebhookConfig } from './notify-config.js';

/** Header carrying `sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>`. */
export const SIGNATURE_HEADER = 'x-village-signature';
/** Header carrying the delivery key: the same on every retry, so a receiver can drop repeats. */
export const DELIVERY_HEADER = 'x-village-delivery';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
}

/** POSTs the JSON body, signed; any answer but 2xx (or no answer within timeoutMs) is a failure. */
export function createWebhookNotifier(cfg: WebhookConfig): Notifier {
  return {
    channel: `webhook:${cfg.id}`,
    retry: { maxAttempts: cfg.maxAttempts, backoffMs: cfg.backoffMs, maxBackoffMs: cfg.maxBackoffMs },
    wants: (m) => cfg.levels === undefined || cfg.levels.includes(m.level as 'village'),
    async deliver(m: NotificationMessage, body: string) {
      let res: Response;
      try {
        res = await fetch(cfg.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [SIGNATURE_HEADER]: signBody(cfg.secret, body),
            [DELIVERY_HEADER]: m.deliveryKey,
          },
          body,
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new WebhookDeliveryError(`POST ${cfg.url} failed: ${cause ?? (err as Error).message}`);
      }
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) {
        throw new WebhookDeliveryError(`POST ${cfg.url} answered ${res.status}`);
      }
    },
  };
}
