/**
 * Runs jobs off the ingest path: `push` returns at once, at most `concurrency` jobs run at a
 * time, and at most `maxQueued` wait. A full queue refuses the job (the caller counts it) rather
 * than growing without bound while, say, a webhook host hangs.
 */
export interface ActionQueue<J> {
  /** False when the queue is full or stopped; the job was not taken. */
  push(job: J): boolean;
  /** Jobs waiting plus running. */
  readonly size: number;
  /** Drops waiting jobs and resolves once the running ones have settled. */
  stop(): Promise<void>;
}

export function createActionQueue<J>(
  run: (job: J) => Promise<void>,
  { concurrency, maxQueued }: { concurrency: number; maxQueued: number },
): ActionQueue<J> {
  const waiting: J[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;

  const pump = () => {
    while (!stopped && running.size < concurrency && waiting.length > 0) {
      const job = waiting.shift()!;
      // `run` reports its own outcome; a throw here is a bug, and must not stall the queue.
      const p: Promise<void> = run(job)
        .catch(() => undefined)
        .finally(() => {
          running.delete(p);
          pump();
        });
      running.add(p);
    }
  };

  return {
    push(job) {
      if (stopped || waiting.length >= maxQueued) return false;
      waiting.push(job);
      // Start on the next microtask: the caller (a driver's emit) never runs action code itself.
      queueMicrotask(pump);
      return true;
    },
    get size() {
      return waiting.length + running.size;
    },
    async stop() {
      stopped = true;
      waiting.length = 0;
      await Promise.allSettled([...running]);
    },
  };
}
