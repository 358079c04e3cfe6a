import { type Ack, type Batch, ProtocolError, decodeBatch, parseTopic } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import type { Sink, SinkBatch } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
import type { RegistryStore } from '../store/registry-store.js';
import type { SeqState } from '../store/seq-state.js';

export interface BatchIngestDeps {
  db: Db;
  sink: Sink;
  seqState: SeqState;
  registry: RegistryStore;
  metrics: CloudMetrics;
  log: Logger;
  /** Publishes an ack QoS 1 on `v1/e/{edgeId}/down/ack`; resolves once the broker took it. */
  publishAck(edgeId: string, ack: Ack): Promise<void>;
  /** ms epoch clock. */
  now(): number;
  /** Called once per newly committed batch, after its ack (rules runtime, live stream). */
  onCommitted?(batch: SinkBatch): void;
}

export type BatchOutcome = 'committed' | 'duplicate' | 'malformed' | 'rejected';

/**
 * The ingest of one `v1/e/{edge}/up/batch` message (DESIGN.md "Delivery, precisely"):
 * decode (a malformed batch is counted, logged and dropped: its seq is unknown, so no ack);
 * a seq already committed is acked again but not written; otherwise the points and the seq state
 * commit together, and only then is the seq acked. Callers run one message at a time.
 */
export function createBatchIngest(
  deps: BatchIngestDeps,
): (topic: string, payload: Uint8Array) => Promise<BatchOutcome> {
  const { db, sink, seqState, registry, metrics, log } = deps;

  const malformed = (err: ProtocolError, edgeId: string | undefined, bytes: number): BatchOutcome => {
    metrics.batches.inc({ result: 'malformed', code: err.code });
    log.warn(
      { edge: edgeId, code: err.code, path: err.path, bytes, err: err.message },
      'malformed batch dropped',
    );
    return 'malformed';
  };

  const reject = async (edgeId: string, seq: number, code: string, reason: string): Promise<BatchOutcome> => {
    metrics.batches.inc({ result: 'rejected', code });
    log.warn({ edge: edgeId, seq, code, reason }, 'batch rejected');
    await deps.publishAck(edgeId, { acked: [], rejected: [{ seq, reason }] });
    return 'rejected';
  };

  return async function ingestBatch(topic, payload) {
    const receivedAt = deps.now();
    let edgeId: string;
    let batch: Batch;
    try {
      edgeId = parseTopic(topic).edgeId;
    } catch (err) {
      if (err instanceof ProtocolError) return malformed(err, undefined, payload.length);
      throw err;
    }
    try {
      batch = decodeBatch(payload);
    } catch (err) {
      if (err instanceof ProtocolError) return malformed(err, edgeId, payload.length);
      throw err;
    }
    const { seq } = batch;
    if (batch.edgeId !== edgeId) {
      return reject(
        edgeId,
        seq,
        'edge_mismatch',
        `batch edge id ${batch.edgeId} does not match topic edge ${edgeId}`,
      );
    }
    // Edge seqs start at 1 (H starts at 0): a seq 0 would be taken for committed and silently lost.
    if (seq < 1) return reject(edgeId, seq, 'bad_seq', 'seq must be at least 1');

    if (seqState.isCommitted(edgeId, seq)) {
      metrics.batches.inc({ result: 'duplicate' });
      log.info({ edge: edgeId, seq }, 'duplicate batch acked again, not written');
      await deps.publishAck(edgeId, { acked: [seq], rejected: [] });
      return 'duplicate';
    }

    const seen = devicesSeen(batch);
    let applySeq: (() => void) | undefined;
    const sinkBatch: SinkBatch = {
      edgeId,
      historical: batch.historical,
      receivedAt,
      place: registry.placeOf(edgeId),
      readings: batch.readings,
      events: batch.events,
    };
    const result = await sink.commitBatch(
      sinkBatch,
      // Inside the sink's transaction for SQLite (a nested transaction is a savepoint); its own one otherwise.
      () =>
        db.transaction(() => {
          applySeq = seqState.record(edgeId, seq);
          registry.noteDevicesSeen(edgeId, seen);
          registry.noteEdgeSeen(edgeId, receivedAt);
        })(),
    );
    applySeq?.();
    metrics.batches.inc({ result: 'committed' });
    metrics.readingsWritten.inc(result.readings);
    metrics.eventsWritten.inc(result.events);
    if (result.rewrites > 0) {
      metrics.rewrites.inc(result.rewrites);
      log.warn({ edge: edgeId, seq, rewrites: result.rewrites }, 'batch overwrote existing points');
    }
    metrics.ingestLatency.observe(Math.max(0, deps.now() - batch.createdAt) / 1000);
    log.debug({ edge: edgeId, seq, readings: result.readings, events: result.events }, 'batch committed');
    await deps.publishAck(edgeId, { acked: [seq], rejected: [] });
    deps.onCommitted?.(sinkBatch);
    return 'committed';
  };
}

/** Device id → newest timestamp it appears with in the batch. */
function devicesSeen(batch: Batch): Map<string, number> {
  const seen = new Map<string, number>();
  const note = (device: string, ts: number) => {
    const prev = seen.get(device);
    if (prev === undefined || prev < ts) seen.set(device, ts);
  };
  for (const r of batch.readings) note(r.device, r.ts);
  for (const e of batch.events) note(e.device, e.ts);
  return seen;
}
