import type { DeviceEvent, Quality, Reading, Severity, Value } from '@village/protocol';

/** Where a device is: tags stored with every point (DESIGN.md "Sinks"). Null when the edge has no station. */
export interface PlaceTags {
  county: string | null;
  town: string | null;
  village: string | null;
  station: string | null;
}

/** One decoded, not yet committed batch, as the sink receives it. */
export interface SinkBatch {
  edgeId: string;
  historical: boolean;
  /** ms epoch when the cloud received the batch. */
  receivedAt: number;
  place: PlaceTags;
  readings: readonly Reading[];
  events: readonly DeviceEvent[];
  /**
   * Reading times that may become `latest` (inclusive, ms epoch), set by the ingest from
   * reading-time-window.ts; readings outside it were marked `suspect` and never become latest.
   */
  believable?: { from: number; to: number };
}

/**
 * The state write to run right after a batch's points, inside the sink's transaction on the
 * cloud's SQLite (the seq state; with `store.kind: postgres` only this host's registry, the
 * SharedStore recording the group after the sink resolved: batch-ingest.ts commitShared).
 */
export type RecordState = () => void;

/** One batch of a group commit and the seq-state write to run right after its points. */
export interface GroupItem {
  batch: SinkBatch;
  recordState: RecordState;
}

export interface SinkWriteResult {
  readings: number;
  events: number;
  /**
   * Points (readings or events) that already existed and were overwritten; always 0 from a sink
   * whose `countsRewrites` is false.
   */
  rewrites: number;
  /** Points the store refused for good and that went to the dead letters instead (InfluxDB 400). */
  deadLettered?: number;
}

export interface LatestValue {
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: Value;
  quality: Quality;
  station: string | null;
}

export interface SeriesQuery {
  device: string;
  metric: string;
  /** ms epoch, inclusive. */
  from: number;
  /** ms epoch, exclusive. */
  to: number;
  /** Bucket width, ms. */
  stepMs: number;
}

/** One aggregation bucket starting at `t` (ms epoch). min/max/mean are null for string series. */
export interface SeriesBucket {
  t: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  count: number;
}

export interface EventQuery {
  device?: string;
  type?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface StoredEvent {
  edge: string;
  device: string;
  type: string;
  severity: Severity;
  ts: number;
  receivedAt: number;
  historical: boolean;
  data: DeviceEvent['data'];
}

/**
 * Storage of readings and events. Every implementation must pass test/sink-suite.ts.
 *
 * Exactly-once in effect (DESIGN.md "Delivery, precisely"): `commitBatch` makes the points durable
 * and calls `recordState` (which records the batch's seq in the cloud's SQLite state) exactly once:
 *  - a sink that lives in that same SQLite database (`atomicWithState`) calls it inside the
 *    transaction that writes the points, so data and dedupe state commit or roll back together;
 *  - an external sink (InfluxDB) writes the points first and calls it only after they are durable;
 *    a crash in between only causes a resend, whose points are keyed (device, metric, ts) and so
 *    overwrite identical ones.
 * If writing or `recordState` throws, `commitBatch` rejects and the batch must not be acked.
 */
export interface Sink {
  readonly name: string;
  readonly atomicWithState: boolean;
  /**
   * Whether `rewrites` counts overwritten points. InfluxDB overwrites a point silently and telling
   * would cost a read per batch, so the InfluxDB sink does not count them (seq dedupe keeps
   * rewrites to the crash-between-write-and-record case); the suite checks the count only here.
   */
  readonly countsRewrites: boolean;
  commitBatch(batch: SinkBatch, recordState: RecordState): Promise<SinkWriteResult>;
  /**
   * Group commit (optional; sinks without it get their batches one `commitBatch` at a time):
   * several batches, each written then its `recordState` called, in ONE transaction with the state,
   * so one durable commit (one WAL fsync) serves them all. All or nothing: if any write or
   * `recordState` throws, every batch of the group is rolled back and the promise rejects.
   */
  commitGroup?(items: readonly GroupItem[]): Promise<SinkWriteResult[]>;
  latest(filter: { device?: string; station?: string }): Promise<LatestValue[]>;
  /** Undefined when no such series was ever written. */
  series(query: SeriesQuery): Promise<SeriesBucket[] | undefined>;
  events(query: EventQuery): Promise<StoredEvent[]>;
  /**
   * The quality-control copy of readings' data flags (quality-flags.ts; cloud.db holds the truth):
   * each given reading gets its HJ 212-style flag beside it; `N` clears it (absent means normal).
   * Written after the reading's commit, so a flag of a reading never stored is ignored.
   */
  setFlags?(place: PlaceTags, flags: readonly FlagWrite[]): Promise<void>;
  /** Times of one series' stored readings in [from, to), for an officer's invalidation of a range. */
  readingTimes?(device: string, metric: string, from: number, to: number): Promise<number[]>;
  close(): Promise<void>;
}

/** One reading's data flag (`DataFlag` of @village/rules), as a sink stores it. */
export interface FlagWrite {
  device: string;
  metric: string;
  ts: number;
  flag: string;
}
