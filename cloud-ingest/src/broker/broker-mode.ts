import type { BrokerLink } from '@village/protocol/api';
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { CloudConfig } from '../config.js';
import type { BatchGroupQueue } from '../ingest/batch-group-queue.js';
import type { CloudMetrics } from '../metrics.js';
import type { Db } from '../store/open-database.js';
import type { SeqState } from '../store/seq-state.js';
import { embeddedBrokerMode } from './embedded-broker-mode.js';
import { externalBrokerMode } from './external-broker-mode.js';
import type { JournalWriter } from './external-journal.js';

type Ingest = (topic: string, payload: Uint8Array) => Promise<unknown> | unknown;

/** What the broker delivers messages to: the cloud's ingest of each up/ channel. */
export interface BrokerWiring {
  log: Logger;
  metrics: CloudMetrics;
  ingest: { status: Ingest; 'cmd-result': Ingest };
  /** `up/batch`, either mode: batches queued while a commit runs are committed together (group commit). */
  batchGroups: BatchGroupQueue;
  /** The cloud's one-message-at-a-time runner: `done` runs when the work settled. */
  serially(work: () => Promise<unknown> | unknown, done: () => void): void;
}

export interface StartedBroker {
  /** The embedded broker's bound port; 0 in external mode (no port of its own). */
  port: number;
  tlsPort: number | undefined;
  /** The embedded broker; undefined in external mode. */
  aedes: Aedes | undefined;
  /**
   * Closes every connection of this edge (removed or revoked by an admin); returns how many. In
   * external mode the broker holds the sessions and its own ACL: 0 (docs/operations.md).
   */
  disconnectEdge(edge: string): number;
  /** External mode: each broker of `mqtt.url` and whether it is connected now (/health); undefined when embedded. */
  brokers?(): BrokerLink[];
  close(): Promise<void>;
}

/**
 * How the cloud talks MQTT, chosen once from `mqtt.mode`: the embedded aedes broker (one process
 * owns cloud.db) or an external broker consumed by several ingest workers sharing cloud.db.
 */
export interface BrokerMode {
  readonly mode: CloudConfig['mqtt']['mode'];
  /**
   * The dedupe state and, when several workers share cloud.db, the journal each appends what it
   * commits to, for the one rules worker (docs/scaling.md).
   */
  openState(db: Db): { seqState: SeqState; journal: JournalWriter | undefined };
  /** This worker's name in the rules lease. */
  readonly workerName: string;
  start(wiring: BrokerWiring): Promise<StartedBroker>;
  /** Publishes QoS 1 to an edge (commands, notifications); usable once `start` delivers messages. */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /**
   * Publishes QoS 1 the reply to a message (a batch's ack or rejection): with several external
   * brokers, on `via`, the one that delivered the message (batch-ingest.ts PreparedBatch.via);
   * otherwise, or without `via`, like `publish`.
   */
  reply(topic: string, payload: Uint8Array, via: string | undefined): Promise<void>;
}

/** Each edge's accepted secret hashes, read at every CONNECT (the store's issued secrets, then cloud.yaml). */
export interface EdgeCredentials {
  get(edge: string): readonly string[] | undefined;
}

export function chooseBrokerMode(config: CloudConfig, credentials: EdgeCredentials): BrokerMode {
  const mqtt = config.mqtt;
  return mqtt.mode === 'external'
    ? externalBrokerMode(mqtt, {
        journal: config.ingest.journal?.enabled ?? true,
        testDelay: config.ingest,
        statusToEveryWorker: config.store.kind === 'postgres',
      })
    : embeddedBrokerMode(mqtt, credentials);
}
