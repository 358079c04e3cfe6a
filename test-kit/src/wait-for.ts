/** How long to wait and how often to look; `intervalMs` is the pause between two checks. */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a truthy value, and returns that value; after `timeoutMs` it
 * throws, naming `what` (a function is called then, so the message can show the state at the
 * end) and the last error `check` threw. A check that throws is retried, not fatal: a server
 * that is not up yet refuses the connection. Tests wait on conditions with this, never on a
 * fixed sleep.
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 20 }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      const cause = last ? ` (last error: ${(last as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
