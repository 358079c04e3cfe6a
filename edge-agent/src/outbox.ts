import type { DeviceEvent, Reading } from '@village/protocol';

/**
 * The edge's durable buffer (DESIGN.md "Edge agent" and "Delivery, precisely").
 *
 * Every implementation must pass test/outbox-suite.ts. Guarantees:
 * - `append`/`appendEvent` resolve only once the data is durable;
 * - a batch keeps its seq and its bytes until `ack` deletes it;
 * - seqs are never reused, even across crashes;
 * - events are handed out before telemetry and are never dropped for quota;
 * - a quota drop removes the oldest telemetry first and leaves a `gap` event behind.
 */
export type Lane = 'event' | 'telemetry';

export interface StoredBatch {
  seq: number;
  lane: Lane;
  bytes: Uint8Array;
  readings: number;
}

export interface CutPolicy {
  /** ms epoch. */
  now: number;
  maxReadings: number;
  maxAgeMs: number;
  /** Batches cut while the uplink is down, or from rows older than historicalAfterMs, are historical. */
  uplinkConnected: boolean;
  historicalAfterMs: number;
}

export interface OutboxStats {
  pendingReadings: number;
  pendingEvents: number;
  batches: number;
  /** Readings held in cut but unacked batches. */
  batchedReadings: number;
  /** accepted_at of the oldest reading or event not yet acked; null when empty. */
  oldestAcceptedAt: number | null;
  bytesUsed: number;
  droppedReadings: number;
  rejectedBatches: number;
}

export interface Outbox {
  /** Boot counter of this run (incremented on every open). */
  readonly boot: number;
  append(readings: Reading[]): Promise<void>;
  appendEvent(event: DeviceEvent): Promise<void>;
  /** Cuts as many batches as the policy allows; returns how many. */
  cut(policy: CutPolicy): number;
  /** Oldest batches to send, events lane first, skipping those in `exclude` (in flight). */
  next(limit: number, exclude: ReadonlySet<number>): StoredBatch[];
  /** One stored batch, for a resend; undefined once acked or dropped. */
  read(seq: number): StoredBatch | undefined;
  /** Deletes acked batches; returns how many existed. */
  ack(seqs: readonly number[]): number;
  /** The cloud can never accept this batch: delete it, count it, leave a gap event. */
  reject(seq: number, reason: string): void;
  stats(): OutboxStats;
  close(): Promise<void>;
}
