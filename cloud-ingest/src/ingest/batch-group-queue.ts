import type { BatchIngest, PreparedBatch } from './batch-ingest.js';

export interface GroupLimits {
  /** Most batches committed in one transaction. */
  maxBatches: number;
  /** Most readings plus events in one transaction; a larger batch is committed alone, never split. */
  maxPoints: number;
  /**
   * Most messages whose broker callback is released before their commit: the queue's bound. Past
   * it, a message's callback waits for its commit, and the broker reads no more from that connection.
   */
  maxAhead: number;
  /** Most readings plus events held by the messages released ahead (the queue's memory bound). */
  maxAheadPoints: number;
  /**
   * Most messages decoded and queued for a commit. Past it, a message waits undecoded, its
   * callback held, so its connection reads no more until the queue has room: the rest of the
   * load waits at the edges, in their outboxes, whatever the number of connections.
   */
  maxQueued: number;
}

/** 64 batches or 50,000 points a transaction; 16 messages released ahead of their commit, 256 decoded and queued. */
export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  maxBatches: 64,
  maxPoints: 50_000,
  maxAhead: 16,
  maxAheadPoints: 100_000,
  maxQueued: 256,
};

/**
 * External-broker mode: mqtt.js hands over one connection's messages one at a time, each after the
 * last one's callback, so a group can hold only what was released ahead. Two groups' worth, so the
 * next group fills while one commits (the points bound, maxAheadPoints, still holds the memory).
 */
export const EXTERNAL_GROUP_LIMITS: Partial<GroupLimits> = {
  maxAhead: 2 * DEFAULT_GROUP_LIMITS.maxBatches,
};

export interface BatchGroupQueueOptions {
  ingest: Pick<BatchIngest, 'prepare' | 'commitGroup'>;
  /** The cloud's one-at-a-time runner (cloud.ts): a group commits between other messages, never beside them. */
  serially(work: () => Promise<unknown>, done: () => void): void;
  /** An unexpected (non-protocol) error while decoding a message; the message is dropped unacked. */
  onError(err: Error): void;
  limits?: Partial<GroupLimits>;
}

export interface BatchGroupQueue {
  /**
   * One `up/batch` message from the broker; `done` is the broker's delivery callback; `via` the
   * external broker it came from, where its ack goes (undefined with the embedded broker).
   */
  push(topic: string, payload: Uint8Array, done: () => void, via?: string): void;
  /** Resolves once every message pushed so far is settled: committed and its ack out, or refused. */
  idle(): Promise<void>;
}

interface Waiting {
  topic: string;
  payload: Uint8Array;
  done: () => void;
  via: string | undefined;
}

interface Queued {
  batch: PreparedBatch;
  /** Readings plus events. */
  points: number;
  /** The broker's callback while still held; undefined once released ahead of the commit. */
  done: (() => void) | undefined;
}

/**
 * Group commit, for the embedded and the external brokers: messages are decoded as they arrive
 * and queue up while a commit runs; the next commit takes up to `maxBatches` of them in one
 * transaction (one WAL fsync, or one InfluxDB write, instead of one per batch). Each batch is
 * acked only after that commit (batch-ingest.ts).
 *
 * Releasing the broker's callback early is what lets a group form (aedes reads no further from a
 * connection while a callback of its last read is pending, and one batch can span several reads;
 * mqtt.js hands an external broker's messages over one at a time, each after the last's callback);
 * `maxAhead` bounds how many messages are queued that way. An early callback only PUBACKs the
 * MQTT packet: the edge's delivery guarantee is the cloud's ack, so a crash before the commit
 * costs a resend, never a loss.
 *
 * Back-pressure: at most `maxQueued` messages are decoded and queued; the others wait as they
 * came (topic and bytes, callback held), one read's worth per connection at most, and are taken
 * in arrival order as commits make room. This only holds if the broker never lets held callbacks
 * block its other deliveries, above all the cloud's own ack publishes (start-broker.ts).
 */
export function createBatchGroupQueue(o: BatchGroupQueueOptions): BatchGroupQueue {
  const limits: GroupLimits = { ...DEFAULT_GROUP_LIMITS, ...o.limits };
  const waiting: (Waiting | undefined)[] = [];
  let waitingAt = 0;
  const queue: Queued[] = [];
  let releasedAhead = 0;
  let aheadPoints = 0;
  let outstanding = 0;
  let scheduled = false;
  const idleWaiters: (() => void)[] = [];

  const settle = () => {
    outstanding--;
    if (outstanding === 0) for (const w of idleWaiters.splice(0)) w();
  };

  const releaseAhead = () => {
    for (const q of queue) {
      if (q.done === undefined) continue;
      if (releasedAhead >= limits.maxAhead || aheadPoints + q.points > limits.maxAheadPoints) return;
      const done = q.done;
      q.done = undefined;
      releasedAhead++;
      aheadPoints += q.points;
      done();
    }
  };

  const takeGroup = (): Queued[] => {
    const group: Queued[] = [];
    let points = 0;
    while (queue.length > 0 && group.length < limits.maxBatches) {
      const n = queue[0]!.points;
      if (group.length > 0 && points + n > limits.maxPoints) break;
      group.push(queue.shift()!);
      points += n;
    }
    return group;
  };

  // Decodes one message; queues it for a commit, or settles it here (malformed, rejected).
  const admitOne = ({ topic, payload, done, via }: Waiting) => {
    let prepared: ReturnType<typeof o.ingest.prepare>;
    try {
      prepared = o.ingest.prepare(topic, payload, via);
    } catch (err) {
      o.onError(err as Error);
      done();
      settle();
      return;
    }
    if (prepared instanceof Promise) {
      prepared
        .catch((err: Error) => o.onError(err))
        .finally(() => {
          done();
          settle();
        });
      return;
    }
    const { readings, events } = prepared.sinkBatch;
    queue.push({ batch: prepared, points: readings.length + events.length, done });
  };

  const admit = () => {
    while (waitingAt < waiting.length && queue.length < limits.maxQueued) {
      const w = waiting[waitingAt]!;
      waiting[waitingAt++] = undefined; // its bytes are no longer held here
      admitOne(w);
    }
    if (waitingAt === waiting.length) {
      waiting.length = 0;
      waitingAt = 0;
    } else if (waitingAt > 1024 && waitingAt * 2 > waiting.length) {
      waiting.splice(0, waitingAt);
      waitingAt = 0;
    }
    releaseAhead();
    schedule();
  };

  // The runner waits for the group's commit, not for its acks: a batch's held callback (and so its
  // connection's reads) and its place in `idle()` wait for its own ack, so an edge that stopped
  // reading holds back only itself (batch-ingest.ts commitGroup).
  async function runGroup(): Promise<void> {
    const group = takeGroup();
    let outcomes: Promise<unknown>[] = [];
    try {
      outcomes = await o.ingest.commitGroup(group.map((q) => q.batch));
    } finally {
      for (const [i, q] of group.entries()) {
        const held = q.done;
        if (held === undefined) {
          releasedAhead--;
          aheadPoints -= q.points;
        }
        const finish = () => {
          held?.();
          settle();
        };
        const outcome = outcomes[i];
        if (outcome === undefined) finish();
        else outcome.then(finish, finish);
      }
      admit();
    }
  }

  const schedule = () => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    // After this turn's I/O callbacks, so messages read together (or during the last commit) join one group.
    setImmediate(() =>
      o.serially(runGroup, () => {
        scheduled = false;
        schedule();
      }),
    );
  };

  return {
    push(topic, payload, done, via) {
      outstanding++;
      waiting.push({ topic, payload, done, via });
      admit();
    },
    idle: () =>
      outstanding === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
  };
}
