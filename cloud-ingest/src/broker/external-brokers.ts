import type { BrokerLink } from '@village/protocol/api';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { type ExternalMqttConfig, brokerClientIds } from './external-config.js';
import { type ExternalConsumer, startExternalConsumer } from './external-consumer.js';

export interface ExternalBrokersOptions {
  config: ExternalMqttConfig;
  /** The worker's client id, before the per-broker suffix (external-config.ts brokerClientIds). */
  clientId: string;
  log: Logger;
  /** The cloud's metrics registry: `cloud_external_broker_up{broker}` is registered there. */
  metricsRegistry: Registry;
  /**
   * Handles one message from any broker; `from` is that broker's label (the `via` of its reply).
   * Resolves when the message may be PUBACKed. Never rejects.
   */
  handle(topic: string, payload: Buffer, from: string): Promise<void>;
  /** How long to wait for the first broker to answer before the start fails, ms. */
  firstConnectTimeoutMs?: number;
  /** Every worker gets every `up/status` (external-consumer.ts). */
  statusToEveryWorker?: boolean | undefined;
}

export interface ExternalBrokers {
  /** Each broker of `mqtt.url`, in order, and whether it is connected now (for /health). */
  links(): BrokerLink[];
  /**
   * A downlink not caused by a message (a command, a command resend, a notification): to every
   * broker connected now, since the edge is on one of them (commands are idempotent by id at the
   * edge, edge-agent supervisor.ts). With none connected, queued on every broker for its return.
   */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /**
   * The reply to a message (a batch's ack or rejection): on the broker `via` (the label `handle`
   * was given with the message), where its edge is. Without `via` (a dead letter re-driven by an
   * officer), or for a label no longer configured, like `publish`.
   */
  reply(topic: string, payload: Uint8Array, via: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * One consumer per broker of `mqtt.url`, all in the same shared-subscription group. The start
 * waits only for the first broker to answer: the others are logged as unreachable and retried
 * until they answer, and `cloud_external_broker_up{broker}` (1 or 0) and /health say which are
 * up. Each message is handled with the label of the broker it came from, which rides with the
 * decoded batch (batch-ingest.ts PreparedBatch.via) to its ack, so the ack goes back on that
 * broker even when the batch is committed in a group with batches of other brokers.
 */
export async function startExternalBrokers(o: ExternalBrokersOptions): Promise<ExternalBrokers> {
  const { config, log } = o;
  const upGauge = new Gauge({
    name: 'cloud_external_broker_up',
    help: 'External-broker mode: 1 while this worker is connected to the broker, 0 otherwise',
    labelNames: ['broker'],
    registers: [o.metricsRegistry],
  });
  const clientIds = brokerClientIds(o.clientId, config.url);
  const consumers: ExternalConsumer[] = [];
  config.url.forEach((url, i) => {
    const consumer: ExternalConsumer = startExternalConsumer({
      config,
      url,
      clientId: clientIds[i]!,
      log,
      statusToEveryWorker: o.statusToEveryWorker,
      handle: (topic, payload) => o.handle(topic, payload, consumer.broker),
      onUp: (up) => upGauge.set({ broker: consumer.broker }, up ? 1 : 0),
    });
    upGauge.set({ broker: consumer.broker }, 0);
    consumers.push(consumer);
  });
  const closeAll = () => Promise.all(consumers.map((c) => c.close())).then(() => undefined);

  const timeoutMs = o.firstConnectTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.any(consumers.map((c) => c.connected)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `no connection to any external broker (${consumers.map((c) => c.broker).join(', ')}) within ${timeoutMs / 1000} s`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await closeAll();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const down = consumers.filter((c) => !c.isUp()).map((c) => c.broker);
  if (down.length > 0)
    log.warn(
      { brokers: down },
      'external brokers not up yet at start (unreachable, or not subscribed yet); the worker keeps trying them',
    );

  const publish = async (topic: string, payload: Uint8Array) => {
    const up = consumers.filter((c) => c.isUp());
    await Promise.all((up.length > 0 ? up : consumers).map((c) => c.publish(topic, payload)));
  };
  return {
    links: () => consumers.map((c) => ({ broker: c.broker, up: c.isUp() })),
    publish,
    reply(topic, payload, via) {
      const from = via === undefined ? undefined : consumers.find((c) => c.broker === via);
      return from ? from.publish(topic, payload) : publish(topic, payload);
    },
    close: closeAll,
  };
}
