import { setTimeout as sleep } from 'node:timers/promises';

/** An action that did not succeed within its tries; `message` is the last try's error. */
export class LocalActionError extends Error {
  override readonly name = 'LocalActionError';
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

export interface AttemptOptions {
  maxAttempts: number;
  /** Wait before the second try, ms; doubles per try. */
  backoffMs: number;
  /** One try is abandoned after this long, ms. */
  timeoutMs: number;
  /** Aborted when the agent stops: no further tries, no waiting. */
  signal: AbortSignal;
}

/**
 * Runs `tryOnce` until it resolves, at most `maxAttempts` times, with exponential backoff. Each
 * try gets a signal that fires on its timeout or on stop; a try that ignores the signal is
 * abandoned all the same, so a hung peer holds a queue slot for `timeoutMs` at most.
 */
export async function attempt<T>(
  tryOnce: (signal: AbortSignal, n: number) => Promise<T>,
  o: AttemptOptions,
): Promise<{ value: T; attempts: number }> {
  let last = 'not tried';
  for (let n = 1; n <= o.maxAttempts; n++) {
    if (o.signal.aborted) throw new LocalActionError(`stopped after ${n - 1} tries: ${last}`, n - 1);
    const signal = AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]);
    try {
      return { value: await abandonOnAbort(tryOnce(signal, n), signal, o.timeoutMs), attempts: n };
    } catch (err) {
      last = (err as Error).message;
    }
    if (n < o.maxAttempts) {
      try {
        await sleep(o.backoffMs * 2 ** (n - 1), undefined, { signal: o.signal });
      } catch {
        throw new LocalActionError(`stopped after ${n} tries: ${last}`, n);
      }
    }
  }
  throw new LocalActionError(last, o.maxAttempts);
}

function abandonOnAbort<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new Error(signal.reason?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'stopped'),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
