import {
  type Ack,
  type Batch,
  type DeviceEvent,
  LEGACY_EPOCH,
  ProtocolError,
  decodeBatch,
  parseTopic,
  readBatchHeader,
} from '@village/protocol';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { JournalWriter } from '../broker/external-journal.js';
import type { CloudMetrics } from '../metrics.js';
import { partitionOf } from '../shared-store/partition.js';
import type { SharedStore } from '../shared-store/shared-store.js';
import {
  DEFAULT_TIME_WINDOW,
  type TimeWindow,
  latestRange,
  markSuspectTimes,
} from '../sink/reading-time-window.js';
import type { Sink, SinkBatch, SinkWriteResult } from '../sink/sink.js';
import type { DeadLetterStore } from '../store/dead-letter-store.js';
import type { Db } from '../store/open-database.js';
import type { RegistryStore } from '../store/registry-store.js';
import type { EpochChange, SeqState } from '../store/seq-state.js';
import { type Refusal, keepOwnPoints } from './device-ownership.js';
import type { SharedDeviceOwners } from './shared-device-owners.js';

/**
 * Where the dedupe state lives: this cloud's SQLite (`seqState`, synchronous, written in the
 * sink's transaction), or, with `store.kind: postgres` (several hosts), the SharedStore
 * (`sharedStore`, async: asked before the write, recorded with the journal row after InfluxDB
 * accepted the points). With the SharedStore, who owns a device is its claims too
 * (`sharedOwners`), not this host's registry.
 */
export type DedupeState =
  | { seqState: SeqState; sharedStore?: undefined; sharedOwners?: undefined }
  | { sharedStore: SharedStore; sharedOwners: SharedDeviceOwners; seqState?: undefined };

export type BatchIngestDeps = DedupeState & {
  db: Db;
  sink: Sink;
  registry: RegistryStore;
  metrics: CloudMetrics;
  log: Logger;
  /** Believable reading times (cloud.yaml ingest.maxClockSkewMs, minTimestamp); default reading-time-window.ts. */
  timeWindow?: TimeWindow;
  /** Where a batch that does not decode is kept (and then rejected in an ack, when its seq can be read). */
  deadLetters: DeadLetterStore;
  /**
   * Publishes an ack QoS 1 on `v1/e/{edgeId}/down/ack`, on the broker `via` when given (the one
   * the batch came from); resolves once the broker took it.
   */
  publishAck(edgeId: string, ack: Ack, via: string | undefined): Promise<void>;
  /**
   * External mode with SQLite (several workers, one cloud.db): each newly committed batch is
   * appended to the journal for the one rules worker, inside the transaction recording its seq.
   */
  journal?: JournalWriter | undefined;
  /** ms epoch clock. */
  now(): number;
  /**
   * Called once per commit with the batches it newly committed, in order, after their acks started
   * (rules runtime, live stream): a group's listeners can then write what they derive in one
   * transaction (cloud.ts).
   */
  onCommitted?(batches: readonly SinkBatch[]): void;
};

/** The duplicates' log line comes at most this often, ms. */
const DUPLICATE_LOG_MS = 10_000;

export type BatchOutcome = 'committed' | 'duplicate' | 'malformed' | 'rejected' | 'failed';

/** A decoded batch that passed the checks, not yet committed. */
export interface PreparedBatch {
  edgeId: string;
  seq: number;
  /** The outbox epoch the seq belongs to (LEGACY_EPOCH for an edge that sends none). */
  epoch: string;
  /** ms epoch the edge cut the batch (edge clock), for the latency histogram. */
  createdAt: number;
  sinkBatch: SinkBatch;
  /** Device id → newest timestamp it appears with in the batch. */
  seen: Map<string, number>;
  /** Points left out because their device belongs to another edge (device-ownership.ts); named in the ack. */
  refused: Refusal[];
  /** The message's CBOR bytes as received: the journal row (either store) holds them for the rules. */
  payload: Uint8Array;
  /** The external broker the message came from, where its ack goes; undefined otherwise. */
  via: string | undefined;
}

export interface BatchIngest {
  /** The whole ingest of one `up/batch` message (a group of one). Never rejects on bad data or a sink error. */
  ingest(topic: string, payload: Uint8Array): Promise<BatchOutcome>;
  /**
   * Decodes and checks one message. Returns the batch ready to commit, or, for a message settled
   * here (malformed: counted, dead-lettered and, with a readable seq, rejected; rejected: counted
   * and its rejection acked), a promise of that outcome.
   */
  prepare(topic: string, payload: Uint8Array, via?: string): PreparedBatch | Promise<BatchOutcome>;
  /**
   * Commits prepared batches of one or several edges (one runner at a time), starts each one's
   * ack and feeds the committed ones to `onCommitted`, in order. Resolves once the commits are
   * done, with one outcome per batch, in order; each outcome settles once its ack went out. The
   * caller's next commit need not wait for those: an edge whose socket is full (it stopped
   * reading, or its link died half-open) then holds only its own acks, never the other edges'
   * commits or the rules' feed.
   */
  commitGroup(group: readonly PreparedBatch[]): Promise<Promise<BatchOutcome>[]>;
}

/**
 * The ingest of `v1/e/{edge}/up/batch` messages (DESIGN.md "Delivery, precisely"):
 * decode (a malformed batch is counted, logged and kept as a dead letter, and rejected in an ack
 * when its seq can still be read);
 * a seq already committed is acked again but not written; otherwise the points and the seq state
 * commit together, and only then is the seq acked. Callers run one commit at a time.
 *
 * Group commit: a sink with `commitGroup` (SQLite) commits several batches in one transaction, so
 * one WAL fsync serves them all. If that transaction fails, it is rolled back whole and its halves
 * are committed as groups of their own, down to single batches, so only a batch that fails on its
 * own stays unacked (the edge resends), and one bad batch costs a few transactions, not one per batch.
 */
export function createBatchIngest(deps: BatchIngestDeps): BatchIngest {
  const { db, sink, registry, metrics, log } = deps;
  const suspectTimes = new Counter({
    name: 'cloud_readings_suspect_time_total',
    help: 'Readings dated past now + ingest.maxClockSkewMs or before ingest.minTimestamp: stored as suspect, never latest',
    registers: [metrics.registry],
  });

  const malformed = (
    err: ProtocolError,
    edgeId: string | undefined,
    bytes: number,
    kept?: { deadLetter: number; seq: number | null; bytesKept: boolean },
  ): BatchOutcome => {
    metrics.batches.inc({ result: 'malformed', code: err.code });
    log.warn(
      { edge: edgeId, code: err.code, path: err.path, bytes, err: err.message, ...kept },
      kept ? 'malformed batch kept as a dead letter' : 'malformed batch dropped',
    );
    return 'malformed';
  };

  // A batch of a known (authenticated) edge that does not decode: kept as a dead letter, then,
  // when its seq can still be read, rejected in an ack so the edge stops resending it (its outbox
  // reports the gap). Without a readable seq there is nothing to ack: the edge's resends only
  // bump the dead letter's count.
  const undecodable = async (
    err: ProtocolError,
    edgeId: string,
    payload: Uint8Array,
    at: number,
    via: string | undefined,
  ): Promise<BatchOutcome> => {
    const header = readBatchHeader(payload);
    const seq = header?.edgeId === edgeId ? header.seq : null;
    // Durable before the rejection goes out (awaited: in PostgreSQL with several hosts).
    const letter = await deps.deadLetters.add({
      kind: 'batch',
      edge: edgeId,
      seq,
      reason: err.code,
      detail: err.message,
      bytes: payload,
      at,
    });
    malformed(err, edgeId, payload.length, { deadLetter: letter.id, seq, bytesKept: letter.bytesKept });
    if (seq !== null) {
      await deps.publishAck(
        edgeId,
        {
          acked: [],
          rejected: [{ seq, reason: `undecodable (${err.code}), dead letter ${letter.id}: ${err.message}` }],
          ...ackEpoch(header?.epoch ?? LEGACY_EPOCH),
          cloudTime: deps.now(),
        },
        via,
      );
    }
    return 'malformed';
  };

  const reject = async (
    edgeId: string,
    seq: number,
    epoch: string,
    code: string,
    reason: string,
    via: string | undefined,
  ): Promise<BatchOutcome> => {
    metrics.batches.inc({ result: 'rejected', code });
    log.warn({ edge: edgeId, seq, code, reason }, 'batch rejected');
    await deps.publishAck(
      edgeId,
      { acked: [], rejected: [{ seq, reason }], ...ackEpoch(epoch), cloudTime: deps.now() },
      via,
    );
    return 'rejected';
  };

  function prepare(topic: string, payload: Uint8Array, via?: string): PreparedBatch | Promise<BatchOutcome> {
    const receivedAt = deps.now();
    let edgeId: string;
    let batch: Batch;
    try {
      edgeId = parseTopic(topic).edgeId;
    } catch (err) {
      if (err instanceof ProtocolError) return Promise.resolve(malformed(err, undefined, payload.length));
      throw err;
    }
    try {
      batch = decodeBatch(payload);
    } catch (err) {
      if (err instanceof ProtocolError) return undecodable(err, edgeId, payload, receivedAt, via);
      throw err;
    }
    const { seq } = batch;
    const epoch = batch.epoch ?? LEGACY_EPOCH;
    if (batch.edgeId !== edgeId) {
      return reject(
        edgeId,
        seq,
        epoch,
        'edge_mismatch',
        `batch edge id ${batch.edgeId} does not match topic edge ${edgeId}`,
        via,
      );
    }
    // Edge seqs start at 1 (H starts at 0): a seq 0 would be taken for committed and silently lost.
    if (seq < 1) return reject(edgeId, seq, epoch, 'bad_seq', 'seq must be at least 1', via);
    // With shared owners a device no host claimed yet passes here, and is claimed with its group (commitShared).
    const { readings, events, refused } = keepOwnPoints(deps.sharedOwners ?? registry, metrics, log, batch);
    const believable = latestRange(deps.timeWindow ?? DEFAULT_TIME_WINDOW, receivedAt);
    const timed = markSuspectTimes(readings, believable);
    if (timed.suspect > 0) {
      suspectTimes.inc(timed.suspect);
      log.warn(
        { edge: edgeId, seq, readings: timed.suspect, from: believable.from, to: believable.to },
        'readings dated outside the believable window stored as suspect',
      );
    }
    return {
      edgeId,
      seq,
      epoch,
      createdAt: batch.createdAt,
      seen: devicesSeen({ readings, events }),
      refused,
      payload,
      via,
      sinkBatch: {
        edgeId,
        historical: batch.historical,
        receivedAt,
        place: registry.placeOf(edgeId),
        readings: timed.readings,
        events,
        believable,
      },
    };
  }

  // Runs inside the sink's transaction for SQLite (a nested transaction is a savepoint); its own one otherwise.
  // Returns the seq state's memory change, to apply once that transaction committed. With a
  // journal, the seq state appends this batch's row when it records the seq as new.
  const recordTx = (seqState: SeqState, p: PreparedBatch) =>
    db.transaction(() => {
      const apply = seqState.record(p.edgeId, p.seq, p.epoch);
      registry.noteDevicesSeen(p.edgeId, p.seen);
      registry.noteEdgeSeen(p.edgeId, p.sinkBatch.receivedAt);
      return apply;
    });
  const recordState = (seqState: SeqState, p: PreparedBatch) =>
    deps.journal
      ? deps.journal.during({ payload: p.payload, receivedAt: p.sinkBatch.receivedAt }, recordTx(seqState, p))
      : recordTx(seqState, p)();

  const ack = async (p: PreparedBatch) => {
    try {
      await deps.publishAck(
        p.edgeId,
        { acked: [p.seq], rejected: [], refused: p.refused, ...ackEpoch(p.epoch), cloudTime: deps.now() },
        p.via,
      );
    } catch (err) {
      // Committed all the same: the edge resends and gets a duplicate's ack.
      log.error({ edge: p.edgeId, seq: p.seq, err: (err as Error).message }, 'ack publish failed');
    }
  };

  // Counted always (cloud_batches_total{result="duplicate"}); logged at most once per
  // DUPLICATE_LOG_MS with the count since the last line: past capacity the edges resend by the
  // thousand, and a line for each cost the cloud CPU it needed for the commits.
  let duplicatesUnlogged = 0;
  let lastDuplicateLog = Number.NEGATIVE_INFINITY;
  const duplicate = (p: PreparedBatch): Promise<BatchOutcome> => {
    metrics.batches.inc({ result: 'duplicate' });
    duplicatesUnlogged++;
    const t = deps.now();
    if (t - lastDuplicateLog >= DUPLICATE_LOG_MS) {
      log.info(
        { edge: p.edgeId, seq: p.seq, epoch: p.epoch, count: duplicatesUnlogged },
        'duplicate batches acked again, not written (logged once per 10 s: count since the last line, and the latest)',
      );
      duplicatesUnlogged = 0;
      lastDuplicateLog = t;
    }
    return ack(p).then(() => 'duplicate');
  };

  // After the commit of the transaction holding the batch: count, start the ack, feed the committed listeners.
  const committed = (p: PreparedBatch, result: SinkWriteResult): Promise<BatchOutcome> => {
    count(p, result);
    const acked = ack(p).then((): BatchOutcome => 'committed');
    deps.onCommitted?.([p.sinkBatch]);
    return acked;
  };

  const count = (p: PreparedBatch, result: SinkWriteResult) => {
    metrics.batches.inc({ result: 'committed' });
    metrics.readingsWritten.inc(result.readings);
    metrics.eventsWritten.inc(result.events);
    if (result.rewrites > 0) {
      metrics.rewrites.inc(result.rewrites);
      log.warn({ edge: p.edgeId, seq: p.seq, rewrites: result.rewrites }, 'batch overwrote existing points');
    }
    metrics.ingestLatency.observe(Math.max(0, deps.now() - p.createdAt) / 1000);
    log.debug(
      { edge: p.edgeId, seq: p.seq, readings: result.readings, events: result.events },
      'batch committed',
    );
  };

  const failed = (p: PreparedBatch, e: Error): Promise<BatchOutcome> => {
    metrics.batches.inc({ result: 'failed', code: e.name });
    log.error(
      { edge: p.edgeId, seq: p.seq, err: e.message, stack: e.stack },
      'batch commit failed, not acked (the edge resends)',
    );
    return Promise.resolve('failed');
  };

  /**
   * `store.kind: postgres`: several hosts share the dedupe. The group's batches are checked
   * against the SharedStore (one query for the group), the new ones written to the sink in one
   * group write, and only after the sink made them durable (InfluxDB accepted the points) recorded
   * there, with their journal rows, in ONE SharedStore transaction. A batch another host recorded
   * in between (both got a copy) was written twice with the same keys, so it is one set of
   * points; it is acked as a duplicate and not fed on. If anything fails, no batch of the group is
   * acked (the edges resend; the points written are keyed, so rewritten with themselves).
   */
  async function commitShared(
    store: SharedStore,
    owners: SharedDeviceOwners,
    group: readonly PreparedBatch[],
  ): Promise<Promise<BatchOutcome>[]> {
    const fresh: PreparedBatch[] = [];
    let newly: boolean[];
    let results: SinkWriteResult[];
    try {
      const [known] = await Promise.all([
        store.committedAmong(group.map((p) => ({ edge: p.edgeId, epoch: p.epoch, seq: p.seq }))),
        claimNewDevices(owners, group),
      ]);
      const inGroup = new Set<string>();
      const asked = new Map<string, Promise<EpochChange | undefined>>();
      for (const [i, p] of group.entries()) {
        const key = `${p.edgeId}\u0000${p.epoch}\u0000${p.seq}`;
        if (known[i]) sharedEpochs.set(p.edgeId, p.epoch);
        if (known[i] || inGroup.has(key)) continue;
        inGroup.add(key);
        fresh.push(p);
        // An epoch this host saw committed for the edge already has its stream: not new, no query.
        const stream = `${p.edgeId}\u0000${p.epoch}`;
        if (sharedEpochs.get(p.edgeId) === p.epoch || asked.has(stream) || epochEventAdded.has(p)) continue;
        asked.set(
          stream,
          store.epochChange(p.edgeId, p.epoch).then((change) => {
            if (change !== undefined) addEpochEvent(p, change);
            return change;
          }),
        );
      }
      await Promise.all(asked.values());
      if (fresh.length === 0) {
        newly = [];
        results = [];
      } else {
        // Each item's recordState runs once its points are durable (inside the sink's SQLite
        // transaction: this host's registry); the SharedStore then records the whole group, in
        // one transaction, before any batch is acked.
        const items = fresh.map((p) => ({
          batch: p.sinkBatch,
          recordState: () => {
            registry.noteDevicesSeen(p.edgeId, p.seen);
            registry.noteEdgeSeen(p.edgeId, p.sinkBatch.receivedAt);
          },
        }));
        results = [];
        if (sink.commitGroup) results = await sink.commitGroup(items);
        else for (const it of items) results.push(await sink.commitBatch(it.batch, it.recordState));
        newly = await store.recordCommits(
          fresh.map((p) => ({
            edge: p.edgeId,
            epoch: p.epoch,
            seq: p.seq,
            receivedAt: p.sinkBatch.receivedAt,
            partition: partitionOf(p.sinkBatch.place),
            batch: p.payload,
          })),
        );
      }
    } catch (err) {
      return group.map((p) => failed(p, err as Error));
    }
    const committedNow = new Map<PreparedBatch, SinkWriteResult>();
    fresh.forEach((p, i) => {
      sharedEpochs.set(p.edgeId, p.epoch);
      if (newly[i]) committedNow.set(p, results[i]!);
    });
    if (committedNow.size > 0) metrics.commitGroupBatches.observe(committedNow.size);
    const outcomes = group.map((p): Promise<BatchOutcome> => {
      const result = committedNow.get(p);
      if (result === undefined) return duplicate(p);
      count(p, result);
      return ack(p).then(() => 'committed');
    });
    deps.onCommitted?.(group.filter((p) => committedNow.has(p)).map((p) => p.sinkBatch));
    return outcomes;
  }
  /**
   * store.kind postgres: the devices of the group no host's claim is known for here are claimed in
   * the SharedStore, in one round trip beside the dedupe's (the first claim anywhere wins, so two
   * hosts never give one device to two edges); then each batch that named a device now known to
   * be another edge's loses its points, as in `prepare`, before anything is written. A claim
   * commits before the batch's points: if their write fails, the edge that resends them owns
   * them all the same. Duplicates claim too (their ack names what was refused).
   */
  async function claimNewDevices(owners: SharedDeviceOwners, group: readonly PreparedBatch[]): Promise<void> {
    const claims = group.flatMap((p) =>
      owners.unknown(p.seen.keys()).map((device) => ({ device, edge: p.edgeId, source: 'reading' as const })),
    );
    if (claims.length === 0) return;
    await owners.claim(claims);
    const claimedBy = new Set(claims.map((c) => `${c.edge}\u0000${c.device}`));
    for (const p of group) {
      if (![...p.seen.keys()].some((d) => claimedBy.has(`${p.edgeId}\u0000${d}`))) continue;
      const { readings, events, refused } = keepOwnPoints(owners, metrics, log, {
        edgeId: p.edgeId,
        seq: p.seq,
        readings: p.sinkBatch.readings,
        events: p.sinkBatch.events,
      });
      if (refused.length === 0) continue;
      p.sinkBatch.readings = readings;
      p.sinkBatch.events = events;
      p.refused.push(...refused);
      for (const r of refused) p.seen.delete(r.device);
    }
  }

  /** Edge → the epoch this host last saw committed for it (store.kind postgres). */
  const sharedEpochs = new Map<string, string>();

  // A one-element array: its outcome settles after the ack, the array itself after the commit.
  async function commitOne(seqState: SeqState, p: PreparedBatch): Promise<Promise<BatchOutcome>[]> {
    if (seqState.isCommitted(p.edgeId, p.seq, p.epoch)) return [duplicate(p)];
    let apply: (() => void) | undefined;
    let result: SinkWriteResult;
    try {
      result = await sink.commitBatch(p.sinkBatch, () => {
        apply = recordState(seqState, p);
      });
    } catch (err) {
      return [failed(p, err as Error)];
    }
    apply?.();
    metrics.commitGroupBatches.observe(1);
    return [committed(p, result)];
  }

  /**
   * The first batch of a new epoch of a known edge (its outbox was wiped or replaced) carries an
   * `epoch_changed` event, stored with it through the event path, so officers see a gap may exist.
   * Once per (edge, epoch) in a group; added once per batch (a rolled-back group retries the same batch).
   */
  const epochEventAdded = new WeakSet<PreparedBatch>();
  function noteEpochChange(seqState: SeqState, p: PreparedBatch, newEpochs: Set<string>): void {
    const key = `${p.edgeId}\u0000${p.epoch}`;
    if (newEpochs.has(key) || epochEventAdded.has(p)) return;
    const change = seqState.epochChange(p.edgeId, p.epoch);
    if (change === undefined) return;
    newEpochs.add(key);
    addEpochEvent(p, change);
  }
  function addEpochEvent(p: PreparedBatch, change: EpochChange): void {
    epochEventAdded.add(p);
    const event: DeviceEvent = {
      device: p.edgeId,
      type: 'epoch_changed',
      severity: 'warning',
      ts: p.sinkBatch.receivedAt,
      data: { oldEpoch: change.oldEpoch, newEpoch: p.epoch, oldHighWater: change.oldHighWater, seq: p.seq },
    };
    p.sinkBatch.events = [...p.sinkBatch.events, event];
    log.warn(
      { edge: p.edgeId, oldEpoch: change.oldEpoch, newEpoch: p.epoch, oldHighWater: change.oldHighWater },
      'edge outbox epoch changed (wiped or replaced outbox): its new seqs are stored, and a gap may exist',
    );
  }

  async function commitGroup(group: readonly PreparedBatch[]): Promise<Promise<BatchOutcome>[]> {
    return deps.sharedStore !== undefined
      ? commitShared(deps.sharedStore, deps.sharedOwners, group)
      : commitLocal(deps.seqState, group);
  }

  async function commitLocal(
    seqState: SeqState,
    group: readonly PreparedBatch[],
  ): Promise<Promise<BatchOutcome>[]> {
    // The batches to write: not committed before, and not a repeat of an earlier one of this group
    // (seq memory follows only after the commit, so the group keeps its own set).
    const fresh: PreparedBatch[] = [];
    const inGroup = new Set<string>();
    const newEpochs = new Set<string>();
    for (const p of group) {
      const key = `${p.edgeId}\u0000${p.epoch}\u0000${p.seq}`;
      if (inGroup.has(key) || seqState.isCommitted(p.edgeId, p.seq, p.epoch)) continue;
      inGroup.add(key);
      fresh.push(p);
      noteEpochChange(seqState, p, newEpochs);
    }
    const results = new Map<PreparedBatch, SinkWriteResult>();
    if (sink.commitGroup !== undefined && fresh.length > 1) {
      const applies: (() => void)[] = [];
      try {
        const written = await sink.commitGroup(
          fresh.map((p) => ({
            batch: p.sinkBatch,
            recordState: () => {
              applies.push(recordState(seqState, p));
            },
          })),
        );
        fresh.forEach((p, i) => results.set(p, written[i]!));
      } catch (err) {
        log.warn(
          { batches: fresh.length, err: (err as Error).message },
          'group commit rolled back; committing its halves apart',
        );
        const mid = Math.ceil(group.length / 2);
        return [
          ...(await commitLocal(seqState, group.slice(0, mid))),
          ...(await commitLocal(seqState, group.slice(mid))),
        ];
      }
      if (results.size > 0) {
        for (const a of applies) a();
        metrics.commitGroupBatches.observe(fresh.length);
      }
    }
    // The acks of a committed group, and of its repeats (a resend of a seq committed before or
    // in this group: a duplicate), all start at once: each waits a few event-loop turns in the
    // broker (and on its edge's socket), so one after the other they, not the commits, bounded a
    // fleet of small batches, worst in a storm of resends. Then the committed batches are fed in
    // group order, without waiting for any ack. Without a group result (a group of one): one at a time.
    if (results.size === 0) {
      const outcomes: Promise<BatchOutcome>[] = [];
      for (const p of group) outcomes.push(...(await commitOne(seqState, p)));
      return outcomes;
    }
    const outcomes = group.map((p): Promise<BatchOutcome> => {
      const result = results.get(p);
      if (result === undefined) return duplicate(p); // not fresh: committed before or just now
      count(p, result);
      return ack(p).then(() => 'committed');
    });
    deps.onCommitted?.(group.filter((p) => results.has(p)).map((p) => p.sinkBatch));
    return outcomes;
  }

  return {
    prepare,
    commitGroup,
    async ingest(topic, payload) {
      const p = prepare(topic, payload);
      return p instanceof Promise ? p : (await commitGroup([p]))[0]!;
    },
  };
}

/** Device id → newest timestamp it appears with in the batch. */
function devicesSeen(batch: {
  readings: readonly Batch['readings'][number][];
  events: readonly DeviceEvent[];
}): Map<string, number> {
  const seen = new Map<string, number>();
  const note = (device: string, ts: number) => {
    const prev = seen.get(device);
    if (prev === undefined || prev < ts) seen.set(device, ts);
  };
  for (const r of batch.readings) note(r.device, r.ts);
  for (const e of batch.events) note(e.device, e.ts);
  return seen;
}

/** The ack's epoch field: omitted for the legacy epoch, so an edge from before epochs reads the ack as before. */
function ackEpoch(epoch: string): { epoch?: string } {
  return epoch === LEGACY_EPOCH ? {} : { epoch };
}
