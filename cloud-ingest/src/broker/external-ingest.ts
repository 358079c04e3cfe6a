import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BatchGroupQueue } from '../ingest/batch-group-queue.js';
import { type ExternalBrokers, startExternalBrokers } from './external-brokers.js';
import type { ExternalMqttConfig } from './external-config.js';
import { INGEST_CHANNELS } from './external-consumer.js';

type Channel = (typeof INGEST_CHANNELS)[number];

export interface ExternalIngestOptions {
  config: ExternalMqttConfig;
  /** The worker's MQTT client id (suffixed per broker when there are several). */
  clientId: string;
  log: Logger;
  metricsRegistry: Registry;
  /** The cloud's ingest of `up/status` and `up/cmd-result` (run one at a time through `serially`). */
  ingest: Record<
    Exclude<Channel, 'batch'>,
    (topic: string, payload: Uint8Array) => Promise<unknown> | unknown
  >;
  /** `up/batch`: group commit, as with the embedded broker (batch-group-queue.ts). */
  batchGroups: BatchGroupQueue;
  /** The cloud's one-message-at-a-time runner (cloud.ts): `done` runs when the work settled. */
  serially(work: () => Promise<unknown> | unknown, done: () => void): void;
  /** TEST KNOB (cloud.yaml ingest.testDelayMs / testDelayForMs): wait before each batch, ms, during the first ...ForMs (0 = always). */
  testDelay: { testDelayMs: number; testDelayForMs: number };
  /** Receives the brokers once one is connected, before any message is handled (acks publish through them). */
  onBrokers(brokers: ExternalBrokers): void;
  /** Every worker gets every `up/status` (external-consumer.ts). */
  statusToEveryWorker?: boolean;
}

/**
 * External-broker mode wired to the cloud's ingest, shaped like the embedded broker handle
 * (`aedes` undefined, no port of its own) so cloud.ts treats both alike. Batches of every broker
 * go to the one group-commit queue, whose commits run one at a time on the `serially` runner, so
 * a seq resent on another broker is checked after the first copy's commit. mqtt.js hands a
 * client's messages over one at a time (PUBACK when `handle` resolves): the queue resolves a
 * bounded number ahead of their commit (its maxAhead) so a group can form, as aedes does for the
 * embedded broker. An early PUBACK is safe for the same reason: the edge resends a batch until
 * the cloud's own ack, sent only after the commit.
 */
export async function startExternalIngest(o: ExternalIngestOptions) {
  const startedAt = Date.now();
  let ready!: () => void;
  const connected = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const channelOf = (topic: string): Channel | undefined =>
    INGEST_CHANNELS.find((c) => topic.endsWith(`/up/${c}`));
  const brokers = await startExternalBrokers({
    config: o.config,
    clientId: o.clientId,
    log: o.log,
    statusToEveryWorker: o.statusToEveryWorker,
    metricsRegistry: o.metricsRegistry,
    async handle(topic, payload, from) {
      await connected;
      const channel = channelOf(topic);
      if (channel === undefined) {
        o.log.warn({ topic }, 'message on an unexpected topic ignored');
        return;
      }
      const { testDelayMs, testDelayForMs } = o.testDelay;
      if (
        channel === 'batch' &&
        testDelayMs > 0 &&
        (testDelayForMs === 0 || Date.now() - startedAt < testDelayForMs)
      ) {
        await sleep(testDelayMs);
      }
      if (channel === 'batch') {
        await new Promise<void>((resolve) => o.batchGroups.push(topic, payload, resolve, from));
        return;
      }
      const ingest = o.ingest[channel];
      await new Promise<void>((resolve) => o.serially(() => ingest(topic, payload), resolve));
    },
  });
  o.onBrokers(brokers);
  ready();
  return { aedes: undefined, port: 0, close: () => brokers.close(), brokers: () => brokers.links() };
}
