import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Serializes the exchanges on one Modbus port. A serial line is half-duplex and a master may
 * have one request outstanding (Modbus over Serial Line v1.02 §2.1), so requests run one after
 * another, with at least `gapMs` of silence after each exchange ends before the next frame
 * starts (slow RS-485 converters need more than the spec's 3.5 character times).
 */
export interface FrameQueue {
  /** Runs `exchange` when the port is free; its result or rejection passes through. */
  run<T>(exchange: () => Promise<T>): Promise<T>;
  /** Rejects queued exchanges that have not started; the running one finishes. */
  close(): void;
}

export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
  constructor() {
    super('the Modbus port was closed before the request could be sent');
  }
}

export function createFrameQueue(gapMs: number, now: () => number = Date.now): FrameQueue {
  let tail: Promise<unknown> = Promise.resolve();
  let lastEnd = Number.NEGATIVE_INFINITY;
  let closed = false;
  return {
    run<T>(exchange: () => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new QueueClosedError());
      const result = tail.then(async () => {
        if (closed) throw new QueueClosedError();
        const wait = lastEnd + gapMs - now();
        if (wait > 0) await sleep(wait);
        try {
          return await exchange();
        } finally {
          lastEnd = now();
        }
      });
      tail = result.catch(() => undefined);
      return result;
    },
    close() {
      closed = true;
    },
  };
}
