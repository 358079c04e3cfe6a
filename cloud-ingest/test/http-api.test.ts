import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  T0,
  type TestCloud,
  collectAcks,
  makeBatch,
  publishBatch,
  startTestCloud,
  waitForAck,
} from './cloud-fixture.js';

describe('HTTP API', { timeout: 60_000 }, () => {
  let t: TestCloud;
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${t.cloud.httpPort}${path}`);
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
    };
  };

  beforeAll(async () => {
    t = await startTestCloud();
    const edge = await t.connectEdge('edge-1');
    const acks = await collectAcks(edge, 'edge-1');
    // pm-1/pm25: 120 readings, one per second from T0, values 10..129.
    const batch = makeBatch('edge-1', 1, 120, {
      historical: true,
      events: [
        { device: 'wb-1', type: 'fall', severity: 'critical', ts: T0 + 1000, data: { x: 1 } },
        { device: 'cam-1', type: 'intrusion', severity: 'warning', ts: T0 + 2000, data: { zone: 'gate' } },
      ],
    });
    batch.readings.push(
      { device: 'door-1', metric: 'open', value: false, unit: '', ts: T0, quality: 'good' },
      { device: 'door-1', metric: 'open', value: true, unit: '', ts: T0 + 500, quality: 'good' },
      { device: 'door-1', metric: 'mode', value: 'auto', unit: '', ts: T0, quality: 'suspect' },
    );
    await publishBatch(edge, 'edge-1', batch);
    await waitForAck(acks, 1);
    await edge.endAsync();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('health lists the edges', async () => {
    const { status, body } = await get('/api/v1/health');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.edges).toEqual([
      { id: 'edge-1', online: false, boot: null, lastSeen: expect.any(Number) },
      { id: 'edge-2', online: false, boot: null, lastSeen: null },
    ]);
  });

  it('devices lists every device heard of, with its places', async () => {
    const { body } = await get('/api/v1/devices');
    const devices = body.devices as {
      id: string;
      station: string | null;
      county: string | null;
      lastSeen: number | null;
    }[];
    expect(devices.map((d) => d.id)).toEqual(['cam-1', 'door-1', 'pm-1', 'wb-1']);
    expect(devices.every((d) => d.station === 's1' && d.county === 'c1')).toBe(true);
    expect(devices.find((d) => d.id === 'pm-1')!.lastSeen).toBe(T0 + 119_000);
  });

  it('latest gives the newest value per device and metric, typed as sent', async () => {
    const { body } = await get('/api/v1/latest?device=door-1');
    expect(body.latest).toEqual([
      {
        device: 'door-1',
        metric: 'mode',
        unit: '',
        ts: T0,
        value: 'auto',
        quality: 'suspect',
        station: 's1',
      },
      {
        device: 'door-1',
        metric: 'open',
        unit: '',
        ts: T0 + 500,
        value: true,
        quality: 'good',
        station: 's1',
      },
    ]);
    const pm = await get('/api/v1/latest?station=s1');
    expect((pm.body.latest as unknown[]).length).toBe(3);
    expect(pm.body.latest).toContainEqual(
      expect.objectContaining({ device: 'pm-1', value: 129, ts: T0 + 119_000, unit: 'µg/m³' }),
    );
    expect((await get('/api/v1/latest?station=nowhere')).body.latest).toEqual([]);
  });

  it('series aggregates buckets (min, max, mean, count)', async () => {
    const { status, body } = await get(
      `/api/v1/series?device=pm-1&metric=pm25&from=${T0}&to=${T0 + 120_000}&step=1m`,
    );
    expect(status).toBe(200);
    expect(body.buckets).toEqual([
      { t: T0, min: 10, max: 69, mean: 39.5, count: 60 },
      { t: T0 + 60_000, min: 70, max: 129, mean: 99.5, count: 60 },
    ]);
    const iso = new Date(T0 + 30_000).toISOString();
    const half = await get(`/api/v1/series?device=pm-1&metric=pm25&from=${iso}&to=${T0 + 40_000}&step=5000`);
    expect(half.body.buckets).toEqual([
      { t: T0 + 30_000, min: 40, max: 44, mean: 42, count: 5 },
      { t: T0 + 35_000, min: 45, max: 49, mean: 47, count: 5 },
    ]);
    const text = await get(`/api/v1/series?device=door-1&metric=mode&from=${T0}&to=${T0 + 1000}&step=1s`);
    expect(text.body.buckets).toEqual([{ t: T0, min: null, max: null, mean: null, count: 1 }]);
  });

  it('events returns stored events with received_at and historical', async () => {
    const { body } = await get('/api/v1/events?device=wb-1');
    expect(body.events).toEqual([
      {
        edge: 'edge-1',
        device: 'wb-1',
        type: 'fall',
        severity: 'critical',
        ts: T0 + 1000,
        receivedAt: expect.any(Number),
        historical: true,
        data: { x: 1 },
      },
    ]);
    expect(((await get('/api/v1/events')).body.events as unknown[]).length).toBe(2);
    expect(
      ((await get(`/api/v1/events?from=${T0 + 1500}`)).body.events as { type: string }[]).map((e) => e.type),
    ).toEqual(['intrusion']);
    expect(((await get('/api/v1/events?limit=1')).body.events as unknown[]).length).toBe(1);
  });

  it('refuses bad parameters with 400 and a message naming them', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/v1/series?metric=pm25&from=1&to=2&step=1', 'missing_param', /device/],
      [`/api/v1/series?device=pm-1&metric=pm25&from=${T0}&to=${T0 + 1000}`, 'missing_param', /step/],
      [`/api/v1/series?device=pm-1&metric=pm25&from=yesterday&to=${T0}&step=1s`, 'bad_param', /from/],
      [`/api/v1/series?device=pm-1&metric=pm25&from=${T0}&to=${T0 + 1000}&step=-5`, 'bad_param', /step/],
      [`/api/v1/series?device=pm-1&metric=pm25&from=${T0}&to=${T0}&step=1s`, 'bad_param', /after/],
      [`/api/v1/series?device=pm-1&metric=pm25&from=0&to=${T0}&step=1s`, 'too_many_buckets', /10000/],
      ['/api/v1/events?limit=0', 'bad_param', /limit/],
    ];
    for (const [path, code, message] of cases) {
      const { status, body } = await get(path);
      expect({ path, status, code: body.error?.code }).toEqual({ path, status: 400, code });
      expect(body.error?.message).toMatch(message);
    }
    const unknown = await get(`/api/v1/series?device=nope&metric=pm25&from=${T0}&to=${T0 + 1000}&step=1s`);
    expect(unknown.status).toBe(404);
    expect((await get('/api/v1/nothing')).status).toBe(404);
  });

  it('/metrics exposes the ingest counters in Prometheus text', async () => {
    const res = await fetch(`http://127.0.0.1:${t.cloud.httpPort}/metrics`);
    const text = await res.text();
    expect(text).toContain('cloud_batches_total{result="committed"} 1');
    expect(text).toContain('cloud_readings_written_total 123');
    expect(text).toContain('cloud_ingest_latency_seconds_count 1');
    expect(text).toMatch(/cloud_connected_edges \d/);
  });
});
