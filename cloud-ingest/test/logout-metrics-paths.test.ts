import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinCloud, startBinCloud } from './http-bin-cloud.js';
import { openStream } from './open-stream.js';

const run = promisify(execFile);
const SCRAPE_TOKEN = 'prometheus-scrape-token-0123456789abcdef';

// Issue 13 finding 10 (HTTP parts): logout ends the caller's SSE streams; /metrics needs an admin
// session or the scrape token; a malformed path is a 400, not a 500.
describe('logout ends streams, /metrics access, malformed paths (built bin)', { timeout: 60_000 }, () => {
  let t: BinCloud;
  beforeAll(async () => {
    t = await startBinCloud({
      extra: { http: { metricsTokenSha256: createHash('sha256').update(SCRAPE_TOKEN).digest('hex') } },
    });
  }, 60_000);
  afterAll(() => t?.stop(), 30_000);

  const metricsStatus = async (headers: Record<string, string>) =>
    (await fetch(`${t.base}/metrics`, { headers })).status;

  it('logout ends the streams of that session, not of another session', async () => {
    const a1 = await t.cookie('villageA');
    const a2 = await t.cookie('villageA');
    const admin = await t.cookie('admin');
    const s1 = await openStream(t.base, a1);
    const s2 = await openStream(t.base, a2);
    const clients = async () =>
      Number(
        /^cloud_stream_clients (\d+)/m.exec(
          await (await fetch(`${t.base}/metrics`, { headers: { cookie: admin } })).text(),
        )?.[1],
      );
    await waitFor('two open streams', async () => (await clients()) === 2);

    const out = await fetch(`${t.base}/api/v1/logout`, { method: 'POST', headers: { cookie: a1 } });
    expect(out.status).toBe(200);
    await waitFor('the logged-out stream to end', () => s1.isDone(), { timeoutMs: 5_000 });
    await waitFor('one stream left', async () => (await clients()) === 1);
    expect(s2.isDone()).toBe(false);
    expect((await fetch(`${t.base}/api/v1/stream`, { headers: { cookie: a1 } })).status).toBe(401);
    await s2.cancel();
  });

  it('/metrics: 401 without credentials, 403 for a village officer, 200 for an admin or the bearer token', async () => {
    expect(await metricsStatus({})).toBe(401);
    expect(await metricsStatus({ cookie: await t.cookie('villageB') })).toBe(403);
    expect(await metricsStatus({ cookie: await t.cookie('admin') })).toBe(200);
    // A Prometheus scraper: curl with the bearer token.
    const ok = await run('curl', ['-sS', '-H', `Authorization: Bearer ${SCRAPE_TOKEN}`, `${t.base}/metrics`]);
    expect(ok.stdout).toContain('cloud_logins_total');
    const wrong = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Authorization: Bearer nope',
      `${t.base}/metrics`,
    ]);
    expect(wrong.stdout).toBe('401');
  });

  it('/assets/%E0 and other malformed paths → 400 bad_path, not 500', async () => {
    for (const path of ['/assets/%E0', '/api/v1/devices%FF', '/%C0%AF']) {
      const r = await run('curl', [
        '-sS',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        '--path-as-is',
        `${t.base}${path}`,
      ]);
      const [body, code] = r.stdout.split('\n');
      expect(code).toBe('400');
      expect(JSON.parse(body!).error.code).toBe('bad_path');
    }
    expect(t.logs().some((l) => l.msg === 'api request failed')).toBe(false);
  });
});
