import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Officer, type ScopedCloud, startScopedCloud } from './auth-cloud.js';

const T = Date.UTC(2026, 0, 15, 8);

/**
 * Who may do what with data quality and the published AQI, with logins on: operators on site
 * (village) set windows in their own village, reviewers (town, county, admin) invalidate and
 * restore within theirs, and nobody reads or changes another village's station (404).
 */
describe('data quality and AQI routes are role-checked and confined to the caller’s villages', () => {
  let t: ScopedCloud;
  const cookies = {} as Record<Officer, string>;
  const post = (who: Officer, path: string, body: unknown) =>
    fetch(`${t.base}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookies[who] },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  const windowAt = (station: string) => ({
    kind: 'maintenance',
    station,
    from: T,
    to: T + 3_600_000,
    reason: 'filter change',
  });
  const range = (station: string) => ({ station, from: T, to: T + 3_600_000, reason: 'review' });

  beforeAll(async () => {
    t = await startScopedCloud();
    for (const who of ['admin', 'county', 'town1', 'villageA', 'villageB'] as const)
      cookies[who] = await t.login(who);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('a village operator sets a window in the own village only; a town officer may not set one', async () => {
    expect((await post('villageA', '/quality/windows', windowAt('sA'))).status).toBe(201);
    expect((await post('villageA', '/quality/windows', windowAt('sB'))).status).toBe(404);
    const town = await post('town1', '/quality/windows', windowAt('sA'));
    expect([town.status, (town.body.error as { code: string }).code]).toEqual([403, 'forbidden']);
    const seen = await t.get('/api/v1/quality/windows', cookies.villageB);
    expect(seen.body.windows).toEqual([]);
  });

  it('town and county officers invalidate and restore within their places; a village officer may not', async () => {
    expect((await post('town1', '/quality/invalidate', range('sA'))).status).toBe(200);
    expect((await post('town1', '/quality/invalidate', range('sC'))).status).toBe(404);
    expect((await post('county', '/quality/restore', range('sC'))).status).toBe(200);
    expect((await post('villageA', '/quality/invalidate', range('sA'))).status).toBe(403);
    const audit = await t.get('/api/v1/quality/audit?station=sA', cookies.town1);
    expect((audit.body.audit as { action: string; actor: string }[]).map((a) => [a.action, a.actor])).toEqual(
      [
        ['invalidate', 'town1'],
        ['window_set', 'villageA'],
      ],
    );
  });

  it('another village’s flags, audit, AQI and report are 404', async () => {
    for (const path of [
      '/api/v1/quality/flags?station=sA',
      '/api/v1/quality/audit?station=sA',
      '/api/v1/aqi/hourly?station=sA',
      '/api/v1/reports/monthly?station=sA&month=2026-01',
    ]) {
      expect((await t.get(path, cookies.villageB)).status, path).toBe(404);
      expect((await t.get(path, cookies.villageA)).status, path).toBe(200);
    }
  });
});
