/**
 * A bound on the password checks (scrypt, ~50 ms of a libuv pool thread each) that logins may run
 * at once, with a short bounded queue. Node's pool has 4 threads, shared with the broker's edge
 * authentication: 1,000 logins at once used to fill it so that an edge's CONNECT timed out. With
 * `concurrency` below the pool size, the broker always has a thread; a login that finds the queue
 * full is refused at once (503) instead of waiting.
 */
export interface WorkLimit {
  /** Runs `work` when a slot is free; undefined (nothing run) when the queue is full. */
  tryRun<T>(work: () => Promise<T>): Promise<T> | undefined;
  /** Checks running plus waiting, for the gauge. */
  readonly load: number;
}

export function createWorkLimit(concurrency: number, queueLength: number): WorkLimit {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      running += 1;
      next();
    }
  };
  return {
    tryRun<T>(work: () => Promise<T>) {
      if (running < concurrency) {
        running += 1;
        return work().finally(release);
      }
      if (waiting.length >= queueLength) return undefined;
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => work().finally(release));
    },
    get load() {
      return running + waiting.length;
    },
  };
}
