import { execFile } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinCloud, startBinCloud } from './http-bin-cloud.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

/** Resident set size of a process, bytes (Linux /proc). */
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

// Issue 13 finding 4: a body limit on every route. A 300 MB unauthenticated login is refused with
// 413 before it is read, the connection is cut, and the cloud's memory does not grow. curl sends.
describe('body limit on every route (built bin, curl)', { timeout: 120_000 }, () => {
  let t: BinCloud;
  let big: string;
  beforeAll(async () => {
    t = await startBinCloud();
    big = join(t.dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, 300 * MB); // sparse: no 300 MB on disk
  }, 60_000);
  afterAll(() => t?.stop(), 30_000);

  const post = async (extraHeaders: string[]) => {
    const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-X', 'POST', '-T', big];
    for (const h of ['content-type: application/json', 'Expect:', ...extraHeaders]) args.push('-H', h);
    args.push(`${t.base}/api/v1/login`);
    // curl may exit non-zero (connection reset while uploading): the status line still prints.
    const out = await run('curl', args, { maxBuffer: MB }).then(
      (r) => r.stdout,
      (err: { stdout: string }) => err.stdout,
    );
    const [code, uploaded] = out.trim().split(' ').map(Number);
    return { code, uploaded: uploaded! };
  };

  for (const [name, headers] of [
    ['with Content-Length', []],
    ['chunked', ['Transfer-Encoding: chunked']],
  ] as const) {
    it(`300 MB POST /api/v1/login ${name} → 413, cut early, no RSS growth`, async () => {
      const before = rssOf(t.child.pid!);
      const { code, uploaded } = await post([...headers]);
      const after = rssOf(t.child.pid!);
      expect(code).toBe(413);
      expect(uploaded).toBeLessThan(100 * MB);
      expect(after - before).toBeLessThan(64 * MB);
      // Still serving.
      expect((await fetch(`${t.base}/api/v1/health`)).status).toBe(200);
    });
  }

  it('a small body on a route still works, and the 413 names the limit', async () => {
    const res = await fetch(`${t.base}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'villageA', password: 'x'.repeat(70 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('65536 bytes');
  });
});
