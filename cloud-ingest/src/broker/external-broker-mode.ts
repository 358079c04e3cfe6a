import { hostname } from 'node:os';
import { createSharedSeqState } from '../store/shared-seq-state.js';
import type { BrokerMode } from './broker-mode.js';
import type { ExternalMqttConfig } from './external-config.js';
import type { ExternalConsumer } from './external-consumer.js';
import { startExternalIngest } from './external-ingest.js';
import { createJournalWriter } from './external-journal.js';

/** A worker's name in the rules lease: its MQTT client id, or the consumer's default one. */
export const workerName = (mqtt: { clientId?: string | undefined }): string =>
  mqtt.clientId ?? `village-ingest-${hostname()}-${process.pid}`;

/**
 * `mqtt.mode: external`: several workers consume an external broker and share cloud.db, so the
 * seq state is not cached per process, and each journals what it commits for the one rules
 * worker (unless ingest.journal.enabled is false). One message at a time: the broker redelivers
 * what was never PUBACKed.
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
  let consumer: ExternalConsumer | undefined;
  return {
    mode: 'external',
    workerName: workerName(mqtt),
    openState(db, now) {
      const journal = o.journal ? createJournalWriter(db, now) : undefined;
      return { seqState: createSharedSeqState(db, journal?.append), journal };
    },
    async start(w) {
      const broker = await startExternalIngest({
        config: mqtt,
        log: w.log,
        serially: w.serially,
        testDelay: o.testDelay,
        statusToEveryWorker: o.statusToEveryWorker,
        ingest: w.ingest,
        onConsumer: (c) => {
          consumer = c;
        },
      });
      return { ...broker, tlsPort: undefined, disconnectEdge: () => 0 };
    },
    publish: (topic, payload) => consumer!.publish(topic, payload),
  };
}
