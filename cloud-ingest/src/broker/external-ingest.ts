import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
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
  /** The cloud's ingest of each up/ channel. */
  ingest: Record<Channel, (topic: string, payload: Uint8Array) => Promise<unknown> | unknown>;
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
 * (`aedes` undefined, no port of its own) so cloud.ts treats both alike. Messages of every broker
 * go through the one `serially` runner, so a seq resent on another broker is checked after the
 * first copy's commit.
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
    async handle(topic, payload) {
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
      await new Promise<void>((resolve) => o.serially(() => o.ingest[channel](topic, payload), resolve));
    },
  });
  o.onBrokers(brokers);
  ready();
  return { aedes: undefined, port: 0, close: () => brokers.close(), brokers: () => brokers.links() };
}
