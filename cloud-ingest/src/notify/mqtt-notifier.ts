import type { NotificationMessage, Notifier } from './notifier.js';

/**
 * Publishes every notification QoS 1 on `{prefix}/{village}` of the embedded broker, for
 * in-cloud subscribers (dashboards backend, an SMS gateway). Edges cannot subscribe there: the
 * broker's ACL lets an edge subscribe only to its own `v1/e/{edge}/down/` topics.
 */
export function createMqttNotifier(
  publish: (topic: string, payload: Uint8Array) => Promise<void>,
  prefix: string,
): Notifier {
  return {
    channel: 'mqtt',
    retry: { maxAttempts: 5, backoffMs: 1_000, maxBackoffMs: 30_000 },
    wants: () => true,
    deliver: (m: NotificationMessage, body: string) =>
      publish(`${prefix}/${m.village}`, Buffer.from(body, 'utf8')),
  };
}
