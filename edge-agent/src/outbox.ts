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

/**
 * The disk under the outbox is full (SQLITE_FULL / ENOSPC): telemetry is refused until it has room
 * again, while events still go to the space held in reserve for them. `code` is stable for metrics.
 */
export class OutboxFullError extends Error {
  override readonly name = 'OutboxFullError';
  readonly code = 'outbox_full';
  constructor(readonly readings: number) {
    super(`outbox disk is full: ${readings} reading(s) refused; events still go to the reserve`);
  }
}

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
  /** True while telemetry is refused because the disk is full. */
  diskFull: boolean;
  /** Bytes still held in reserve for events (0 once given up to store events on a full disk). */
  eventReserveBytes: number;
}

export interface Outbox {
  /** Boot counter of this run (incremented on every open). */
  readonly boot: number;
  /**
   * Random id made when the outbox was created and kept for its life; a wiped outbox gets a new
   * one, so the cloud never takes its seqs for replays. LEGACY_EPOCH for an outbox created before epochs.
   */
  readonly epoch: string;
  /** Rejects with OutboxFullError, storing nothing, while the disk is full. */
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
