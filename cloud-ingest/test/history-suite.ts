import type { DeviceEvent, Reading } from '@village/protocol';
import type { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApi } from '../src/http/api-routes.js';
import { createCloudMetrics } from '../src/metrics.js';
import type { Sink, SinkBatch } from '../src/sink/sink.js';
import type { RegistryStore } from '../src/store/registry-store.js';

export interface HistoryFixture {
  sink: Sink;
  registry: RegistryStore;
  dispose(): Promise<void>;
}

/**
 * The history API (`/api/v1/latest`, `/api/v1/series`, `/api/v1/events`) answered from a sink:
 * one suite, run from one test file per sink (as MQTT.js runs one abstract store suite against
 * each store), so the embedded SQLite sink and the InfluxDB sink give the same answers to the
 * same writes. `makeFixture` gives a fresh, empty sink and the registry the API reads.
 */
export function runHistorySuite(
  name: string,
  makeFixture: () => Promise<HistoryFixture>,
  timeoutMs = 30_000,
): void {
  const T = Date.UTC(2026, 2, 1, 8);
  const place = { county: 'c1', town: 't1', village: 'v1', station: 's1' };
  const r = (
    device: string,
    metric: string,
    value: Reading['value'],
    ts: number,
    quality: Reading['quality'] = 'good',
  ): Reading => ({
    device,
    metric,
    value,
    unit: metric === 'temp' ? '°C' : metric === 'pm25' ? 'µg/m³' : '',
    ts,
    quality,
  });
  const batch = (readings: Reading[], extra: Partial<SinkBatch> = {}): SinkBatch => ({
    edgeId: 'edge-1',
    historical: false,
    receivedAt: T + 3_600_000,
    place,
    readings,
    events: [],
    ...extra,
  });

  const withApi =
    (fn: (api: <B>(path: string) => Promise<{ status: number; body: B }>, sink: Sink) => Promise<void>) =>
    async () => {
      const f = await makeFixture();
      try {
        const app: Hono = createApi({
          sink: f.sink,
          registry: f.registry,
          metrics: createCloudMetrics(),
          log: pino({ level: 'silent' }),
          startedAt: T,
          now: () => T,
        });
        const api = async <B>(path: string) => {
          const res = await app.request(path);
          return { status: res.status, body: (await res.json()) as B };
        };
        await fn(api, f.sink);
      } finally {
        await f.dispose();
      }
    };
  type Latest = {
    latest: {
      device: string;
      metric: string;
      unit: string;
      ts: number;
      value: unknown;
      quality: string;
      station: string | null;
    }[];
  };
  type Series = {
    buckets: { t: number; min: number | null; max: number | null; mean: number | null; count: number }[];
  };
  type Events = {
    events: {
      device: string;
      type: string;
      severity: string;
      ts: number;
      historical: boolean;
      data: unknown;
      edge: string;
      receivedAt: number;
    }[];
  };

  describe(`history API: ${name}`, () => {
    it(
      'latest: newest point per (device, metric), typed, with unit, quality and station, even when written out of order',
      withApi(async (api, sink) => {
        await sink.commitBatch(
          batch([
            r('pm-1', 'pm25', 35, T + 2_000),
            r('pm-1', 'temp', 21.5, T + 2_000, 'suspect'),
            r('pm-1', 'open', true, T + 1_000),
            r('pm-1', 'mode', 'auto', T),
            r('pm-2', 'pm25', 80, T + 5_000),
          ]),
          () => {},
        );
        // Older points arrive later (a backlog): they must not replace the newer ones.
        await sink.commitBatch(
          batch(
            [r('pm-1', 'pm25', 12, T), r('pm-1', 'open', false, T + 3_000), r('pm-1', 'temp', 19, T + 500)],
            {
              historical: true,
            },
          ),
          () => {},
        );
        const { status, body } = await api<Latest>('/api/v1/latest?device=pm-1');
        expect(status).toBe(200);
        expect(body.latest).toEqual([
          { device: 'pm-1', metric: 'mode', unit: '', ts: T, value: 'auto', quality: 'good', station: 's1' },
          {
            device: 'pm-1',
            metric: 'open',
            unit: '',
            ts: T + 3_000,
            value: false,
            quality: 'good',
            station: 's1',
          },
          {
            device: 'pm-1',
            metric: 'pm25',
            unit: 'µg/m³',
            ts: T + 2_000,
            value: 35,
            quality: 'good',
            station: 's1',
          },
          {
            device: 'pm-1',
            metric: 'temp',
            unit: '°C',
            ts: T + 2_000,
            value: 21.5,
            quality: 'suspect',
            station: 's1',
          },
        ]);
        const all = await api<Latest>('/api/v1/latest');
        expect(all.body.latest.map((l) => `${l.device}/${l.metric}=${String(l.value)}`)).toEqual([
          'pm-1/mode=auto',
          'pm-1/open=false',
          'pm-1/pm25=35',
          'pm-1/temp=21.5',
          'pm-2/pm25=80',
        ]);
        expect((await api<Latest>('/api/v1/latest?station=s1')).body.latest).toHaveLength(5);
        expect((await api<Latest>('/api/v1/latest?station=elsewhere')).body.latest).toEqual([]);
        expect((await api<Latest>('/api/v1/latest?device=nobody')).body.latest).toEqual([]);
      }),
      timeoutMs,
    );

    it(
      'latest: a bad Modbus reading (exception name as value) is the latest until a good one follows',
      withApi(async (api, sink) => {
        await sink.commitBatch(
          batch([
            r('pm-1', 'pm25', 40, T),
            r('pm-1', 'pm25', 'IllegalDataAddress', T + 1_000, 'bad'),
            r('pm-2', 'pm25', 'SlaveDeviceFailure', T + 1_000, 'bad'),
            r('pm-2', 'pm25', 41, T + 2_000),
          ]),
          () => {},
        );
        const { body } = await api<Latest>('/api/v1/latest?station=s1');
        expect(body.latest.map((l) => [l.device, l.value, l.quality, l.ts])).toEqual([
          ['pm-1', 'IllegalDataAddress', 'bad', T + 1_000],
          ['pm-2', 41, 'good', T + 2_000],
        ]);
      }),
      timeoutMs,
    );

    it(
      'series: buckets start at `from`, `from` inclusive and `to` exclusive, min/max/mean/count per bucket',
      withApi(async (api, sink) => {
        // Values 0..9 at T + i·100 ms, plus a point of another device that must not count.
        await sink.commitBatch(
          batch([
            ...Array.from({ length: 10 }, (_, i) => r('pm-1', 'temp', i, T + i * 100)),
            r('pm-2', 'temp', 99, T + 100),
          ]),
          () => {},
        );
        const q = (from: number, to: number, step: string) =>
          api<Series>(`/api/v1/series?device=pm-1&metric=temp&from=${from}&to=${to}&step=${step}`);
        expect((await q(T, T + 1_000, '500ms')).body.buckets).toEqual([
          { t: T, min: 0, max: 4, mean: 2, count: 5 },
          { t: T + 500, min: 5, max: 9, mean: 7, count: 5 },
        ]);
        expect((await q(T + 250, T + 700, '200')).body.buckets).toEqual([
          { t: T + 250, min: 3, max: 4, mean: 3.5, count: 2 },
          { t: T + 450, min: 5, max: 6, mean: 5.5, count: 2 },
        ]);
        // Empty buckets are left out.
        expect((await q(T - 10_000, T + 10_000, '5s')).body.buckets).toEqual([
          { t: T, min: 0, max: 9, mean: 4.5, count: 10 },
        ]);
        const missing = await api<{ error: { code: string } }>(
          `/api/v1/series?device=pm-1&metric=nope&from=${T}&to=${T + 1}&step=1`,
        );
        expect([missing.status, missing.body.error.code]).toEqual([404, 'unknown_series']);
      }),
      timeoutMs,
    );

    it(
      'series: booleans aggregate as 0/1, strings only count',
      withApi(async (api, sink) => {
        await sink.commitBatch(
          batch([
            r('door-1', 'open', true, T),
            r('door-1', 'open', false, T + 1),
            r('door-1', 'open', true, T + 2),
            r('door-1', 'open', true, T + 3),
            r('door-1', 'mode', 'auto', T),
            r('door-1', 'mode', 'manual', T + 1),
          ]),
          () => {},
        );
        const open = await api<Series>(
          `/api/v1/series?device=door-1&metric=open&from=${T}&to=${T + 10}&step=10`,
        );
        expect(open.body.buckets).toEqual([{ t: T, min: 0, max: 1, mean: 0.75, count: 4 }]);
        const mode = await api<Series>(
          `/api/v1/series?device=door-1&metric=mode&from=${T}&to=${T + 10}&step=10`,
        );
        expect(mode.body.buckets).toEqual([{ t: T, min: null, max: null, mean: null, count: 2 }]);
      }),
      timeoutMs,
    );

    it(
      'backlog keeps its original timestamps: a historical batch lands where its readings were taken',
      withApi(async (api, sink) => {
        const old = T - 86_400_000; // a day before, sent after an outage
        await sink.commitBatch(batch([r('pm-1', 'pm25', 50, T)]), () => {});
        await sink.commitBatch(
          batch(
            Array.from({ length: 6 }, (_, i) => r('pm-1', 'pm25', 10 + i, old + i * 60_000)),
            { historical: true },
          ),
          () => {},
        );
        const day = await api<Series>(
          `/api/v1/series?device=pm-1&metric=pm25&from=${old}&to=${T + 1}&step=1h`,
        );
        expect(day.body.buckets).toEqual([
          { t: old, min: 10, max: 15, mean: 12.5, count: 6 },
          { t: T, min: 50, max: 50, mean: 50, count: 1 },
        ]);
        expect((await api<Latest>('/api/v1/latest?device=pm-1')).body.latest[0]!.value).toBe(50);
      }),
      timeoutMs,
    );

    it(
      'events: filtered by device, type and time, newest first, bounded by limit, with their data and flags',
      withApi(async (api, sink) => {
        const ev = (
          device: string,
          type: string,
          ts: number,
          severity: DeviceEvent['severity'] = 'critical',
        ): DeviceEvent => ({
          device,
          type,
          severity,
          ts,
          data: { hr: 40, note: 'fell in the yard', ok: false, none: null },
        });
        await sink.commitBatch(
          batch([], { events: [ev('wb-1', 'fall', T + 1), ev('wb-1', 'sos', T + 2)] }),
          () => {},
        );
        await sink.commitBatch(
          batch([], { events: [ev('wb-2', 'fall', T + 3, 'warning')], historical: true }),
          () => {},
        );
        const all = await api<Events>('/api/v1/events');
        expect(all.body.events.map((e) => [e.device, e.type, e.ts, e.severity, e.historical])).toEqual([
          ['wb-2', 'fall', T + 3, 'warning', true],
          ['wb-1', 'sos', T + 2, 'critical', false],
          ['wb-1', 'fall', T + 1, 'critical', false],
        ]);
        expect(all.body.events[0]).toMatchObject({
          edge: 'edge-1',
          receivedAt: T + 3_600_000,
          data: { hr: 40, note: 'fell in the yard', ok: false, none: null },
        });
        expect((await api<Events>('/api/v1/events?type=fall')).body.events.map((e) => e.device)).toEqual([
          'wb-2',
          'wb-1',
        ]);
        expect(
          (await api<Events>(`/api/v1/events?device=wb-1&from=${T + 2}`)).body.events.map((e) => e.type),
        ).toEqual(['sos']);
        expect((await api<Events>(`/api/v1/events?to=${T + 2}`)).body.events.map((e) => e.ts)).toEqual([
          T + 1,
        ]);
        expect((await api<Events>('/api/v1/events?limit=2')).body.events).toHaveLength(2);
      }),
      timeoutMs,
    );
  });
}
