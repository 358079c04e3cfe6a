import { request } from 'node:http';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICERS } from './auth-cloud.js';
import { type BinCloud, startBinCloud } from './http-bin-cloud.js';

/**
 * A login POST from a chosen loopback source address (127.0.0.x are all this host), so each case
 * has its own client address for the per-address throttle.
 */
function loginFrom(
  base: string,
  localAddress: string,
  username: string,
  password: string,
): Promise<{
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; message: string } };
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/v1/login`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          text += s;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            retryAfter: res.headers['retry-after'] as string | undefined,
            body: JSON.parse(text),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ username, password }));
  });
}

const counter = (text: string, name: string, label: string) =>
  Number(new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

// Issue 13 finding 5: logins are throttled per account and per address with growing delays,
// counted; scrypt work for logins is capped (excess answered 503 at once).
describe('login throttling and the scrypt cap (built bin)', { timeout: 120_000 }, () => {
  let t: BinCloud;
  let admin: string;
  beforeAll(async () => {
    t = await startBinCloud({
      extra: {
        auth: {
          loginThrottle: {
            accountFreeFailures: 5,
            addressFreeFailures: 20,
            baseDelayMs: 200,
            maxDelayMs: 1500,
          },
        },
      },
    });
    admin = await t.cookie('admin');
  }, 60_000);
  afterAll(() => t?.stop(), 30_000);
  const metrics = async () => (await fetch(`${t.base}/metrics`, { headers: { cookie: admin } })).text();

  it('30 wrong passwords, then the right one → 429 with Retry-After until the lock passes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push((await loginFrom(t.base, '127.0.0.2', 'villageA', `wrong-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(429);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);

    const right = await loginFrom(t.base, '127.0.0.2', 'villageA', OFFICERS.villageA[2]);
    expect(right.status).toBe(429);
    expect(right.body.error?.code).toBe('login_throttled');
    expect(right.body.error?.message).toContain('account');
    expect(Number(right.retryAfter)).toBeGreaterThanOrEqual(1);
    // The same account from another address is locked too: the lock is on the account.
    expect((await loginFrom(t.base, '127.0.0.5', 'villageA', OFFICERS.villageA[2])).status).toBe(429);

    // Attempts while locked are not checked and do not extend the lock: it passes (maxDelayMs 1.5 s).
    await waitFor(
      'the account lock to pass',
      async () => (await loginFrom(t.base, '127.0.0.2', 'villageA', OFFICERS.villageA[2])).status === 200,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const text = await metrics();
    expect(counter(text, 'cloud_login_throttled_total', 'scope="account"')).toBeGreaterThan(0);
    expect(counter(text, 'cloud_logins_total', 'result="throttled"')).toBeGreaterThan(0);
  });

  it('one address spraying many accounts is locked as an address, even for a right password', async () => {
    let locked = -1;
    for (let i = 0; i < 40 && locked < 0; i++) {
      const r = await loginFrom(t.base, '127.0.0.3', `nobody-${i}`, 'guess');
      if (r.status === 429) locked = i;
      else expect(r.status).toBe(401);
    }
    // 20 free failures; the 21st locks the address, so the 22nd attempt is refused.
    expect(locked).toBe(21);
    const right = await loginFrom(t.base, '127.0.0.3', 'villageB', OFFICERS.villageB[2]);
    expect(right.status).toBe(429);
    expect(right.body.error?.message).toContain('address');
    // Another address is not affected.
    expect((await loginFrom(t.base, '127.0.0.4', 'villageB', OFFICERS.villageB[2])).status).toBe(200);
    expect(counter(await metrics(), 'cloud_login_throttled_total', 'scope="address"')).toBeGreaterThan(0);
  });

  it('a storm of logins at once: password checks are capped, the excess answered 503 at once', async () => {
    const storm = await Promise.all(
      Array.from({ length: 200 }, (_, i) => loginFrom(t.base, '127.0.0.6', `storm-${i}`, 'guess')),
    );
    const busy = storm.filter((r) => r.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.body.error?.code).toBe('login_busy');
    expect(busy[0]!.retryAfter).toBe('1');
    expect(storm.every((r) => [401, 429, 503].includes(r.status))).toBe(true);
    expect(counter(await metrics(), 'cloud_logins_total', 'result="busy"')).toBe(busy.length);
  });
});
