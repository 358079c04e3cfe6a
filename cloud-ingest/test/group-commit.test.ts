import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, type Batch, encodeBatch, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { Histogram } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type GroupLimits, createBatchGroupQueue } from '../src/ingest/batch-group-queue.js';
import { createBatchIngest } from '../src/ingest/batch-ingest.js';
import { createCloudMetrics } from '../src/metrics.js';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import type { Sink } from '../src/sink/sink.js';
import { createSqliteSink } from '../src/sink/sqlite-sink.js';
import { openDeadLetterStore } from '../src/store/dead-letter-store.js';
import { CLOUD_DB_FILE, type Db, openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { createSeqState } from '../src/store/seq-state.js';
import {
  T0,
  type TestCloud,
  collectAcks,
  counterValue,
  makeBatch,
  publishBatch,
  startTestCloud,
} from './cloud-fixture.js';

const N = 20; // readings per batch
/** Batch `seq` of edge-1 with its own time range, so its rows can be counted apart from the others'. */
const batchOf = (seq: number, poisoned = false): Batch => {
  const b = makeBatch('edge-1', seq, N, {}, T0 + seq * 1_000_000);
  if (poisoned) b.readings[N - 1]!.value = POISON;
  return b;
};
const POISON = -666;
/**
 * The failing sink write: a real SQLite error raised inside the SQLite sink's insert (after the
 * batch's other rows went in), so the group's transaction really has to roll back.
 */
const POISON_TRIGGER = `CREATE TRIGGER poison BEFORE INSERT ON readings WHEN NEW.value = ${POISON}
  BEGIN SELECT RAISE(ABORT, 'poisoned reading'); END`;

const rowsOfSeq = (db: Db | Database.Database, seq: number): number =>
  (
    db
      .prepare('SELECT COUNT(*) AS n FROM readings WHERE ts >= ? AND ts < ?')
      .get(T0 + seq * 1_000_000, T0 + (seq + 1) * 1_000_000) as { n: number }
  ).n;

async function histogram(h: Histogram): Promise<{ count: number; sum: number; atMostOne: number }> {
  const { values } = await h.get();
  const pick = (name: string, le?: number) =>
    values.find((v) => v.metricName === name && (le === undefined || v.labels.le === le))?.value ?? 0;
  return {
    count: pick('cloud_commit_group_batches_count'),
    sum: pick('cloud_commit_group_batches_sum'),
    atMostOne: pick('cloud_commit_group_batches_bucket', 1),
  };
}

describe('group commit of queued batches', { timeout: 60_000 }, () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /**
   * The cloud's batch ingest in-process (no broker): real SQLite database and sink, a second
   * read-only connection, and a log of what happened in order (each ack with the rows of its seq
   * that second connection saw at that moment, each feed of a committed batch). `gates.commit`,
   * when given, holds every sink commit until it resolves; `gates.ackOf(edge)`, every ack
   * publish to that edge (an edge that stopped reading its socket).
   */
  function inProcessIngest(
    limits?: Partial<GroupLimits>,
    gates: { commit?: Promise<void>; ackOf?: (edge: string) => Promise<void> | undefined } = {},
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
    const db = openDatabase(dir);
    const reader = new Database(join(dir, CLOUD_DB_FILE), { readonly: true });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => {
      db.close();
    });
    cleanups.push(() => {
      reader.close();
    });
    const metrics = createCloudMetrics();
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => logs.push(JSON.parse(l)) });
    const seqState = createSeqState(db);
    const trail: string[] = [];
    let commitCalls = 0;
    const sqlite = createSqliteSink(db);
    const sink: Sink = {
      ...sqlite,
      async commitBatch(batch, recordState) {
        commitCalls++;
        await gates.commit;
        return sqlite.commitBatch(batch, recordState);
      },
      async commitGroup(items) {
        commitCalls++;
        await gates.commit;
        return sqlite.commitGroup!(items);
      },
    };
    const ingest = createBatchIngest({
      db,
      sink,
      seqState,
      registry: openRegistryStore(db, EMPTY_REGISTRY, ['edge-1', 'edge-2']),
      metrics,
      log,
      deadLetters: openDeadLetterStore(db, metrics.registry),
      async publishAck(edge: string, ack: Ack) {
        await gates.ackOf?.(edge);
        for (const seq of ack.acked)
          trail.push(`ack ${edge === 'edge-1' ? '' : `${edge} `}${seq} rows ${rowsOfSeq(reader, seq)}`);
      },
      now: () => Date.now(),
      onCommitted: (batches) => {
        for (const b of batches)
          trail.push(
            `fed ${b.edgeId === 'edge-1' ? '' : `${b.edgeId} `}${(b.readings[0]!.ts - T0) / 1_000_000}`,
          );
      },
    });
    let chain = Promise.resolve();
    const serially = (work: () => Promise<unknown>, done: () => void) => {
      chain = chain
        .then(work)
        .then(() => undefined, log.error.bind(log))
        .finally(done);
    };
    // Counts the messages the queue has decoded (its bound is on those).
    let prepares = 0;
    const queue = createBatchGroupQueue({
      ingest: {
        prepare: (topic, payload) => {
          prepares++;
          return ingest.prepare(topic, payload);
        },
        commitGroup: ingest.commitGroup,
      },
      serially,
      onError: (err) => log.error(err.message),
      limits,
    });
    // Seqs whose broker callback was released, in order.
    const released: number[] = [];
    const push = (seq: number, bytes: Uint8Array, edge = 'edge-1') =>
      queue.push(topics.batch(edge), bytes, () => released.push(seq));
    return {
      db,
      reader,
      metrics,
      logs,
      seqState,
      trail,
      queue,
      push,
      released,
      commitCalls: () => commitCalls,
      prepares: () => prepares,
    };
  }

  // The messages of a group are pushed in one go, so what shares a transaction is deterministic.
  // The failing sink write is a real SQLite error raised inside the SQLite sink.
  it('commits a group in one transaction, acks each seq only once its rows are committed, keeps duplicates and a failing batch out', async () => {
    const { db, reader, metrics, logs, seqState, trail, queue, push, released } = inProcessIngest();

    // Group 1: seqs 1 2 3, a resend of 1 and of 3 inside the same group, and a malformed message.
    for (const seq of [1, 2, 1, 3, 3]) push(seq, encodeBatch(batchOf(seq)));
    push(0, new Uint8Array([0xff, 0x00, 0x13]));
    await queue.idle();
    // The group's acks, the repeats' (duplicates) among them, go out together after the commit,
    // in group order; each committed batch is fed once, without waiting for its ack.
    expect(trail).toEqual([
      'fed 1',
      'fed 2',
      'fed 3',
      `ack 1 rows ${N}`,
      `ack 2 rows ${N}`,
      `ack 1 rows ${N}`,
      `ack 3 rows ${N}`,
      `ack 3 rows ${N}`,
    ]);
    expect(await histogram(metrics.commitGroupBatches)).toEqual({ count: 1, sum: 3, atMostOne: 0 });
    expect(await counterValue(metrics.batches, { result: 'duplicate' })).toBe(2);
    expect(await counterValue(metrics.batches, { result: 'malformed' })).toBe(1);
    expect(released).toHaveLength(6); // every broker callback released

    // Group 2: seq 5 fails in the sink; 4 and 6 beside it are committed and acked, 5 is not.
    db.exec(POISON_TRIGGER);
    trail.length = 0;
    for (const seq of [4, 5, 6]) push(seq, encodeBatch(batchOf(seq, seq === 5)));
    await queue.idle();
    expect(trail).toEqual(['fed 4', `ack 4 rows ${N}`, 'fed 6', `ack 6 rows ${N}`]);
    expect(logs.some((l) => l.msg === 'group commit rolled back; committing its halves apart')).toBe(true);
    expect(await counterValue(metrics.batches, { result: 'failed', code: 'SqliteError' })).toBe(1);
    expect(rowsOfSeq(reader, 5)).toBe(0);
    expect(seqState.snapshot('edge-1')).toEqual({ highWater: 4, above: [6] });

    // The edge resends 5 once the fault is gone: committed then, and H closes over 6.
    db.exec('DROP TRIGGER poison');
    trail.length = 0;
    push(5, encodeBatch(batchOf(5, true)));
    await queue.idle();
    expect(trail).toEqual(['fed 5', `ack 5 rows ${N}`]);
    expect(seqState.snapshot('edge-1')).toEqual({ highWater: 6, above: [] });
    // Exactly once: six batches' rows, none written twice.
    expect(reader.prepare('SELECT COUNT(*) AS n, SUM(rewrites) AS r FROM readings').get()).toEqual({
      n: 6 * N,
      r: 0,
    });
    expect(await counterValue(metrics.batches, { result: 'committed' })).toBe(6);
  });

  it('releases at most maxAhead broker callbacks ahead of their commit, and caps a group at maxBatches', async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const { reader, metrics, trail, queue, push, released, commitCalls } = inProcessIngest(
      { maxBatches: 2, maxAhead: 4 },
      { commit: gate },
    );
    push(1, encodeBatch(batchOf(1)));
    // Seq 1's commit is held at the gate: the queue cannot drain meanwhile.
    await waitFor('the first group reaching its commit', () => commitCalls() === 1);
    for (let seq = 2; seq <= 20; seq++) push(seq, encodeBatch(batchOf(seq)));
    expect(released).toEqual([1, 2, 3, 4]);
    expect(rowsOfSeq(reader, 2)).toBe(0);

    openGate();
    await queue.idle();
    expect(released.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(trail.filter((l) => l.startsWith('ack'))).toEqual(
      Array.from({ length: 20 }, (_, i) => `ack ${i + 1} rows ${N}`),
    );
    const h = await histogram(metrics.commitGroupBatches);
    expect(h.sum).toBe(20);
    expect(h.count, 'groups of 2 at most').toBeGreaterThanOrEqual(10);
    expect(h.count - h.atMostOne, 'some groups of 2').toBeGreaterThan(0);
  });

  it('decodes at most maxQueued messages; the others wait undecoded, their callbacks held, then all commit', async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const { trail, queue, push, released, commitCalls, prepares } = inProcessIngest(
      { maxBatches: 2, maxAhead: 2, maxQueued: 5 },
      { commit: gate },
    );
    push(1, encodeBatch(batchOf(1)));
    await waitFor('the first group reaching its commit', () => commitCalls() === 1);
    // A fleet's worth of messages arrives while that commit cannot finish.
    for (let seq = 2; seq <= 40; seq++) push(seq, encodeBatch(batchOf(seq)));
    expect(prepares(), 'decoded: the one committing plus a full queue').toBe(1 + 5);
    expect(released, 'maxAhead counts seq 1, still committing').toEqual([1, 2]);

    openGate();
    await queue.idle();
    expect(prepares()).toBe(40);
    expect(released.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(trail.filter((l) => l.startsWith('ack'))).toEqual(
      Array.from({ length: 40 }, (_, i) => `ack ${i + 1} rows ${N}`),
    );
  });

  it('an edge whose acks cannot go out (it stopped reading) holds back neither the other edges nor the feed', async () => {
    let unstick!: () => void;
    const stuck = new Promise<void>((resolve) => {
      unstick = resolve;
    });
    const { trail, queue, push, released, seqState } = inProcessIngest(
      // No callback released ahead of its commit, so each one waits for its own ack.
      { maxBatches: 2, maxAhead: 0 },
      { ackOf: (edge) => (edge === 'edge-2' ? stuck : undefined) },
    );
    push(101, encodeBatch(makeBatch('edge-2', 1, N, {}, T0 + 101 * 1_000_000)), 'edge-2');
    for (let seq = 1; seq <= 10; seq++) push(seq, encodeBatch(batchOf(seq)));
    await waitFor("edge-1's acks past edge-2's stuck one", () => trail.includes(`ack 10 rows ${N}`));
    // edge-2's batch is committed and fed (its SOS would reach the rules now), only its ack waits,
    // and with it the broker callback that lets its connection read on.
    expect(trail).toContain('fed edge-2 101');
    expect(seqState.snapshot('edge-2')).toEqual({ highWater: 1, above: [] });
    expect(released).not.toContain(101);
    expect(trail.filter((l) => l.startsWith('ack edge-2'))).toEqual([]);
    let idle = false;
    void queue.idle().then(() => {
      idle = true;
    });
    unstick();
    await waitFor('the queue idle once the ack went out', () => idle);
    expect(released).toContain(101);
    expect(trail).toContain(`ack edge-2 1 rows ${N}`);
  });

  it('groups batches published quickly over the embedded broker, exactly once, each ack after its commit', async () => {
    const t: TestCloud = await startTestCloud();
    cleanups.push(() => t.stop());
    t.cloud.db.exec(POISON_TRIGGER);
    const reader = new Database(join(t.dir, 'data', CLOUD_DB_FILE), { readonly: true });
    cleanups.push(() => {
      reader.close();
    });
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    // Rows of each acked seq as a second connection sees them when the ack arrives.
    const rowsAtAck = new Map<number, number>();
    edge.on('message', () => {
      for (const a of acks)
        for (const seq of a.acked) if (!rowsAtAck.has(seq)) rowsAtAck.set(seq, rowsOfSeq(reader, seq));
    });

    const SEQS = 30;
    const POISONED = 17;
    const sends: Promise<unknown>[] = [];
    for (let seq = 1; seq <= SEQS; seq++) {
      const bytes = encodeBatch(batchOf(seq, seq === POISONED));
      sends.push(publishBatch(edge, 'edge-1', bytes));
      if (seq % 10 === 3) sends.push(publishBatch(edge, 'edge-1', bytes)); // resent at once: same group likely
    }
    await Promise.all(sends);
    const good = Array.from({ length: SEQS }, (_, i) => i + 1).filter((s) => s !== POISONED);
    await waitFor('acks of every good seq', () => good.every((s) => rowsAtAck.has(s)), { timeoutMs: 30_000 });
    await waitFor(
      'the poisoned batch failing',
      async () => (await counterValue(t.cloud.metrics.batches, { result: 'failed' })) === 1,
    );

    for (const s of good) expect(rowsAtAck.get(s), `rows of seq ${s} at its ack`).toBe(N);
    expect(acks.some((a) => a.acked.includes(POISONED))).toBe(false);
    expect(rowsOfSeq(reader, POISONED)).toBe(0);
    const h = await histogram(t.cloud.metrics.commitGroupBatches);
    expect(h.count - h.atMostOne, 'transactions holding more than one batch').toBeGreaterThan(0);
    expect(reader.prepare('SELECT COUNT(*) AS n, SUM(rewrites) AS r FROM readings').get()).toEqual({
      n: good.length * N,
      r: 0,
    });
    expect(await counterValue(t.cloud.metrics.batches, { result: 'committed' })).toBe(good.length);
  });
});
