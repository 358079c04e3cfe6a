import { hostname } from 'node:os';
import { createSharedSeqState } from '../store/shared-seq-state.js';
import type { BrokerMode } from './broker-mode.js';
import type { ExternalBrokers } from './external-brokers.js';
import type { ExternalMqttConfig } from './external-config.js';
import { startExternalIngest } from './external-ingest.js';
import { createJournalWriter } from './external-journal.js';

/** A worker's name in the rules lease: its MQTT client id, or the consumer's default one. */
export const workerName = (mqtt: { clientId?: string | undefined }): string =>
  mqtt.clientId ?? `village-ingest-${hostname()}-${process.pid}`;

/**
 * `mqtt.mode: external`: several workers consume an external broker and share cloud.db, so the
 * seq state is not cached per process, and each journals what it commits for the one rules
 * worker (unless ingest.journal.enabled is false). Batches are committed in groups, as with the
 * embedded broker (external-ingest.ts). Every broker of `mqtt.url` is consumed, each on its own
 * connection.
 */
export function externalBrokerMode(
  mqtt: ExternalMqttConfig,
  o: {
    journal: boolean;
    testDelay: { testDelayMs: number; testDelayForMs: number };
    /** store.kind postgres: every host its own registry, so every host gets every birth. */
    statusToEveryWorker?: boolean;
  },
): BrokerMode {
  let brokers: ExternalBrokers | undefined;
  return {
    mode: 'external',
    workerName: workerName(mqtt),
    openState(db) {
      const journal = o.journal ? createJournalWriter(db) : undefined;
      return { seqState: createSharedSeqState(db, journal?.append), journal };
    },
    async start(w) {
      const broker = await startExternalIngest({
        config: mqtt,
        clientId: workerName(mqtt),
        log: w.log,
        metricsRegistry: w.metrics.registry,
        serially: w.serially,
        testDelay: o.testDelay,
        statusToEveryWorker: o.statusToEveryWorker,
        ingest: w.ingest,
        batchGroups: w.batchGroups,
        onBrokers: (b) => {
          brokers = b;
        },
      });
      return { ...broker, tlsPort: undefined, disconnectEdge: () => 0 };
    },
    // Several brokers (mqtt.url a list): a batch's ack goes back on the broker the batch came
    // from, any other downlink to every connected broker (external-brokers.ts).
    publish: (topic, payload) => brokers!.publish(topic, payload),
    reply: (topic, payload, via) => brokers!.reply(topic, payload, via),
  };
}
