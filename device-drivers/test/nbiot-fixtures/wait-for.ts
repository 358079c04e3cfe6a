/** Polls `cond` until it is truthy or `timeoutMs` passes (then throws, naming `what`). */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  {
    timeoutMs = 20_000,
    intervalMs = 20,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
