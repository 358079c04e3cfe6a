import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Officer, type ScopedCloud, pmBatch, startScopedCloud } from './auth-cloud.js';

const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

/**
 * Each officer reads only the villages under their place, through every read route: a village A
 * officer cannot read village B, even by naming B's device outright.
 */
describe('request scope', { timeout: 60_000 }, () => {
  let t: ScopedCloud;
  const session: Partial<Record<Officer, string>> = {};
  beforeAll(async () => {
    t = await startScopedCloud();
    for (const [edge, device, v] of [
      ['edge-a', 'pm-a', 0],
      ['edge-b', 'pm-b', 1],
      ['edge-c', 'pm-c', 2],
    ] as const) {
      const batch = pmBatch(edge, 1, device, 10, T0 + v);
      batch.events = [
        { device: `cam-${device}`, type: 'intrusion', severity: 'warning', ts: T0 + v, data: {} },
      ];
      await t.publish(edge, batch);
    }
    for (const who of ['admin', 'county', 'town1', 'villageA', 'villageB'] as const)
      session[who] = await t.login(who);
  });
  afterAll(() => t.stop());

  const devicesOf = async (who: Officer) =>
    ((await t.get('/api/v1/devices', session[who])).body.devices as { id: string }[]).map((d) => d.id).sort();

  it('devices: each level sees the villages under it', async () => {
    expect(await devicesOf('admin')).toEqual(['cam-pm-a', 'cam-pm-b', 'cam-pm-c', 'pm-a', 'pm-b', 'pm-c']);
    expect(await devicesOf('county')).toEqual(['cam-pm-a', 'cam-pm-b', 'cam-pm-c', 'pm-a', 'pm-b', 'pm-c']);
    expect(await devicesOf('town1')).toEqual(['cam-pm-a', 'cam-pm-b', 'pm-a', 'pm-b']);
    expect(await devicesOf('villageA')).toEqual(['cam-pm-a', 'pm-a']);
    expect(await devicesOf('villageB')).toEqual(['cam-pm-b', 'pm-b']);
  });

  it('latest: village A sees only its own, even when asking for B by device or station', async () => {
    const latest = (path: string) =>
      t.get(path, session.villageA).then((r) => (r.body.latest as { device: string }[]).map((l) => l.device));
    expect(await latest('/api/v1/latest')).toEqual(['pm-a']);
    expect(await latest('/api/v1/latest?device=pm-b')).toEqual([]);
    expect(await latest('/api/v1/latest?station=sB')).toEqual([]);
    const b = await t.get('/api/v1/latest?device=pm-b', session.villageB);
    expect((b.body.latest as { device: string; value: number }[])[0]).toMatchObject({
      device: 'pm-b',
      value: 29,
    });
  });

  it('series: another village’s device is answered as unknown (404), its own as data', async () => {
    const q = (device: string) =>
      `/api/v1/series?device=${device}&metric=pm25&from=${T0}&to=${T0 + 60_000}&step=1m`;
    const other = await t.get(q('pm-b'), session.villageA);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({
      error: { code: 'unknown_series', message: 'no series pm25 for device pm-b' },
    });
    const own = await t.get(q('pm-a'), session.villageA);
    expect(own.status).toBe(200);
    expect((own.body.buckets as { count: number }[])[0]!.count).toBe(10);
    expect((await t.get(q('pm-b'), session.town1)).status).toBe(200);
    expect((await t.get(q('pm-c'), session.town1)).status).toBe(404);
  });

  it('events, health and people are filtered the same way; names are masked for town officers', async () => {
    const events = (who: Officer) =>
      t
        .get('/api/v1/events', session[who])
        .then((r) => (r.body.events as { device: string }[]).map((e) => e.device));
    expect(await events('villageA')).toEqual(['cam-pm-a']);
    expect((await events('county')).sort()).toEqual(['cam-pm-a', 'cam-pm-b', 'cam-pm-c']);
    expect((await t.get('/api/v1/events?device=cam-pm-b', session.villageA)).body.events).toEqual([]);
    const edges = (who: Officer) =>
      t.get('/api/v1/health', session[who]).then((r) => (r.body.edges as { id: string }[]).map((e) => e.id));
    expect(await edges('villageA')).toEqual(['edge-a']);
    expect(await edges('town1')).toEqual(['edge-a', 'edge-b']);
    const people = (who: Officer) => t.get('/api/v1/people', session[who]).then((r) => r.body.people);
    expect(await people('villageA')).toEqual([
      {
        id: 'p1',
        name: '张三',
        station: 'sA',
        village: 'vA',
        wristband: 'wb-a',
        livesAlone: true,
        masked: false,
      },
    ]);
    expect(await people('town1')).toEqual([
      {
        id: 'p1',
        name: '张*',
        station: 'sA',
        village: 'vA',
        wristband: 'wb-a',
        livesAlone: true,
        masked: true,
      },
      {
        id: 'p2',
        name: '李*',
        station: 'sB',
        village: 'vB',
        wristband: 'wb-b',
        livesAlone: false,
        masked: true,
      },
    ]);
  });
});
