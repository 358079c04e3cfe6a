/** Polls `cond` every `intervalMs` until it holds; throws after `timeoutMs` with `what` (evaluated then) in the message. */
export async function waitFor(
  cond: () => boolean,
  {
    timeoutMs = 20_000,
    intervalMs = 20,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
