import { expect } from 'vitest';

/** An open SSE stream: `ended` resolves when the server ends it. */
export async function openStream(base: string, cookie: string) {
  const res = await fetch(`${base}/api/v1/stream`, { headers: { cookie } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain(': connected');
  let done = false;
  const ended = (async () => {
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch {
      // a reset connection is an end too
    }
    done = true;
  })();
  return { ended, isDone: () => done, cancel: () => reader.cancel().catch(() => {}) };
}
