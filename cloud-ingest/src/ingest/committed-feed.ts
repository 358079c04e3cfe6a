import type { SinkBatch } from '../sink/sink.js';

/**
 * In-process fan-out of every batch once it is committed (after the ack went out): the rules
 * runtime and the live stream (SSE) subscribe here, so they see each committed reading once and
 * never one that might still be rolled back. A listener that throws is logged, never blocks ingest.
 */
export interface CommittedFeed {
  subscribe(listener: (batch: SinkBatch) => void): () => void;
  publish(batch: SinkBatch): void;
}

export function createCommittedFeed(onListenerError: (err: Error) => void): CommittedFeed {
  const listeners = new Set<(batch: SinkBatch) => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(batch) {
      for (const l of listeners) {
        try {
          l(batch);
        } catch (err) {
          onListenerError(err as Error);
        }
      }
    },
  };
}
