import type { Reading } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import type { Sink, SinkBatch } from '../src/sink/sink.js';

/**
 * The contract every Sink implementation must pass (run it from one test file per sink, as
 * MQTT.js runs one abstract suite against each store). `makeSink` gives a fresh, empty sink and a
 * way to release it.
 */
export function runSinkSuite(
  name: string,
  makeSink: () => Promise<{ sink: Sink; dispose(): Promise<void> }>,
): void {
  const T = Date.UTC(2026, 2, 1);
  const place = { county: 'c1', town: 't1', village: 'v1', station: 's1' };
  const reading = (metric: string, value: Reading['value'], ts: number, device = 'dev-1'): Reading => ({
    device,
    metric,
    value,
    unit: metric === 'temp' ? '°C' : '',
    ts,
    quality: 'good',
  });
  const batch = (readings: Reading[], extra: Partial<SinkBatch> = {}): SinkBatch => ({
    edgeId: 'edge-1',
    historical: false,
    receivedAt: T + 10_000_000,
    place,
    readings,
    events: [],
    ...extra,
  });
  const withSink = (fn: (sink: Sink) => Promise<void>) => async () => {
    const { sink, dispose } = await makeSink();
    try {
      await fn(sink);
    } finally {
      await dispose();
    }
  };

  describe(`Sink contract: ${name}`, () => {
    it(
      'commitGroup, where a sink has it: every batch of the group written, each recordState called once, one result each in order',
      withSink(async (sink) => {
        if (sink.commitGroup === undefined) return; // optional: such a sink gets one commitBatch a batch
        const recorded: number[] = [];
        const results = await sink.commitGroup(
          [1, 2, 3].map((i) => ({
            batch: batch([reading('temp', i, T + i * 1000, `dev-${i}`)], { edgeId: `edge-${i}` }),
            recordState: () => {
              recorded.push(i);
            },
          })),
        );
        expect(recorded).toEqual([1, 2, 3]);
        expect(results).toEqual([1, 2, 3].map(() => ({ readings: 1, events: 0, rewrites: 0 })));
        const latest = await sink.latest({});
        expect(latest.map((l) => [l.device, l.value])).toEqual([
          ['dev-1', 1],
          ['dev-2', 2],
          ['dev-3', 3],
        ]);
      }),
    );
    it(
      'writes readings and events, calls recordState exactly once, reports counts',
      withSink(async (sink) => {
        let recorded = 0;
        const result = await sink.commitBatch(
          batch([reading('temp', 21.5, T), reading('temp', 22, T + 1000)], {
            events: [
              {
                device: 'dev-1',
                type: 'smoke',
                severity: 'critical',
                ts: T + 5,
                data: { ppm: 300, note: null },
              },
            ],
          }),
          () => {
            recorded++;
          },
        );
        expect(recorded).toBe(1);
        expect(result).toEqual({ readings: 2, events: 1, rewrites: 0 });
        const events = await sink.events({ limit: 10 });
        expect(events).toEqual([
          {
            edge: 'edge-1',
            device: 'dev-1',
            type: 'smoke',
            severity: 'critical',
            ts: T + 5,
            receivedAt: T + 10_000_000,
            historical: false,
            data: { ppm: 300, note: null },
          },
        ]);
      }),
    );

    it(
      'keeps booleans, strings and numbers typed, and latest holds the newest point even when written out of order',
      withSink(async (sink) => {
        await sink.commitBatch(
          batch([reading('open', true, T + 2000), reading('mode', 'auto', T), reading('temp', 20, T + 3000)]),
          () => {},
        );
        await sink.commitBatch(
          batch([reading('open', false, T), reading('temp', 19.25, T + 1000)]),
          () => {},
        );
        const latest = await sink.latest({ device: 'dev-1' });
        expect(latest.map((l) => [l.metric, l.value, l.ts, l.quality, l.station])).toEqual([
          ['mode', 'auto', T, 'good', 's1'],
          ['open', true, T + 2000, 'good', 's1'],
          ['temp', 20, T + 3000, 'good', 's1'],
        ]);
        expect((await sink.latest({ station: 'elsewhere' })).length).toBe(0);
      }),
    );

    it(
      'overwrites a point with the same (device, metric, ts) and counts the rewrite',
      withSink(async (sink) => {
        await sink.commitBatch(batch([reading('temp', 1, T)]), () => {});
        const again = await sink.commitBatch(
          batch([reading('temp', 2, T), reading('temp', 3, T + 1)]),
          () => {},
        );
        // A sink that does not count rewrites (countsRewrites false) must still overwrite.
        expect(again.rewrites).toBe(sink.countsRewrites ? 1 : 0);
        const buckets = await sink.series({ device: 'dev-1', metric: 'temp', from: T, to: T + 2, stepMs: 2 });
        expect(buckets).toEqual([{ t: T, min: 2, max: 3, mean: 2.5, count: 2 }]);
        const ev = { device: 'dev-1', type: 'fall', severity: 'warning' as const, ts: T, data: {} };
        await sink.commitBatch(batch([], { events: [ev] }), () => {});
        const evAgain = await sink.commitBatch(
          batch([], { events: [{ ...ev, severity: 'critical' }] }),
          () => {},
        );
        expect(evAgain.rewrites).toBe(sink.countsRewrites ? 1 : 0);
        expect((await sink.events({ device: 'dev-1', limit: 10 })).map((e) => e.severity)).toEqual([
          'critical',
        ]);
      }),
    );

    it(
      'aggregates series buckets by step and range, and knows an unknown series',
      withSink(async (sink) => {
        // Values 0..9 at T + i·100 ms.
        await sink.commitBatch(
          batch(Array.from({ length: 10 }, (_, i) => reading('temp', i, T + i * 100))),
          () => {},
        );
        expect(
          await sink.series({ device: 'dev-1', metric: 'temp', from: T, to: T + 1000, stepMs: 500 }),
        ).toEqual([
          { t: T, min: 0, max: 4, mean: 2, count: 5 },
          { t: T + 500, min: 5, max: 9, mean: 7, count: 5 },
        ]);
        // from is inclusive, to exclusive; buckets start at from.
        expect(
          await sink.series({ device: 'dev-1', metric: 'temp', from: T + 250, to: T + 700, stepMs: 200 }),
        ).toEqual([
          { t: T + 250, min: 3, max: 4, mean: 3.5, count: 2 },
          { t: T + 450, min: 5, max: 6, mean: 5.5, count: 2 },
        ]);
        expect(
          await sink.series({ device: 'dev-1', metric: 'nope', from: T, to: T + 1, stepMs: 1 }),
        ).toBeUndefined();
      }),
    );

    it(
      'filters events by device, type and time, newest first, bounded by limit',
      withSink(async (sink) => {
        const events = [
          { device: 'a', type: 'fall', severity: 'critical' as const, ts: T + 1, data: {} },
          { device: 'a', type: 'sos', severity: 'critical' as const, ts: T + 2, data: {} },
          { device: 'b', type: 'fall', severity: 'warning' as const, ts: T + 3, data: {} },
        ];
        await sink.commitBatch(batch([], { events, historical: true }), () => {});
        expect((await sink.events({ type: 'fall', limit: 10 })).map((e) => [e.device, e.ts])).toEqual([
          ['b', T + 3],
          ['a', T + 1],
        ]);
        expect((await sink.events({ device: 'a', from: T + 2, limit: 10 })).map((e) => e.type)).toEqual([
          'sos',
        ]);
        expect((await sink.events({ to: T + 2, limit: 10 })).map((e) => e.ts)).toEqual([T + 1]);
        expect((await sink.events({ limit: 2 })).length).toBe(2);
        expect((await sink.events({ limit: 10 })).every((e) => e.historical)).toBe(true);
      }),
    );

    it(
      'rejects when recordState throws, so the batch is never acked; an atomic sink keeps no point of it',
      withSink(async (sink) => {
        await expect(
          sink.commitBatch(
            batch([reading('temp', 5, T)], {
              events: [{ device: 'dev-1', type: 'sos', severity: 'critical', ts: T, data: {} }],
            }),
            () => {
              throw new Error('state store failed');
            },
          ),
        ).rejects.toThrow('state store failed');
        if (sink.atomicWithState) {
          expect(await sink.latest({})).toEqual([]);
          expect(await sink.events({ limit: 10 })).toEqual([]);
        }
        // The resend after the failure commits normally.
        const ok = await sink.commitBatch(batch([reading('temp', 5, T)]), () => {});
        expect(ok.readings).toBe(1);
        expect((await sink.latest({})).map((l) => l.value)).toEqual([5]);
      }),
    );
  });
}
