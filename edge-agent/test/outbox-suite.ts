import { type Reading, decodeBatch } from '@village/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { CutPolicy, Outbox } from '../src/outbox.js';

/**
 * The contract every Outbox implementation must pass (as MQTT.js does for its stores).
 * `open(opts)` must return an outbox over the same durable location each time it is called
 * within one test, so reopening shows what survives a restart.
 */
export interface OutboxFactory {
  open(opts: { quotaBytes?: number; now?: () => number }): Outbox;
  /** A fresh location for the next test. */
  reset(): void;
}

const T0 = 1_760_000_000_000;
const policy = (over: Partial<CutPolicy> = {}): CutPolicy => ({
  now: T0,
  maxReadings: 100,
  maxAgeMs: 1_000,
  uplinkConnected: true,
  historicalAfterMs: 30_000,
  ...over,
});
const readings = (n: number, from = 0, device = 'd1'): Reading[] =>
  Array.from({ length: n }, (_, i) => ({
    device,
    metric: 'pm2_5',
    value: (from + i) / 10,
    unit: 'µg/m³',
    ts: T0 + from + i,
    quality: 'good' as const,
  }));

export function outboxSuite(name: string, factory: OutboxFactory): void {
  describe(`outbox contract: ${name}`, () => {
    const opened: Outbox[] = [];
    const open = (opts: Parameters<OutboxFactory['open']>[0] = {}) => {
      const o = factory.open({ now: () => T0, ...opts });
      opened.push(o);
      return o;
    };
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close();
      factory.reset();
    });

    it('cuts by count, and by age only when the oldest reading is old enough', async () => {
      const o = open();
      await o.append(readings(250));
      expect(o.cut(policy())).toBe(2); // two full batches of 100; 50 wait for age
      expect(o.stats().pendingReadings).toBe(50);
      expect(o.cut(policy({ now: T0 + 999 }))).toBe(0);
      expect(o.cut(policy({ now: T0 + 1_000 }))).toBe(1);
      const batches = o.next(10, new Set());
      expect(batches.map((b) => b.readings)).toEqual([100, 100, 50]);
      const all = batches.flatMap((b) => decodeBatch(b.bytes).readings);
      expect(all).toEqual(readings(250));
    });

    it('hands out events before older telemetry, skipping batches in flight', async () => {
      const o = open();
      await o.append(readings(300));
      o.cut(policy());
      await o.appendEvent({ device: 'wb-1', type: 'sos', severity: 'critical', ts: T0 + 5, data: {} });
      o.cut(policy());
      const first = o.next(2, new Set());
      expect(first[0]!.lane).toBe('event');
      expect(decodeBatch(first[0]!.bytes).events[0]!.type).toBe('sos');
      expect(first[1]!.lane).toBe('telemetry');
      const rest = o.next(10, new Set(first.map((b) => b.seq)));
      expect(rest.map((b) => b.seq)).not.toContain(first[1]!.seq);
      expect(rest).toHaveLength(2);
    });

    it('keeps seq and bytes until acked, never reuses a seq after reopening', async () => {
      let o = open();
      await o.append(readings(200));
      o.cut(policy());
      const before = o.next(10, new Set());
      expect(before.map((b) => b.seq)).toEqual([1, 2]);
      expect(o.read(2)!.bytes).toEqual(before[1]!.bytes);
      expect(o.ack([1])).toBe(1);
      expect(o.ack([1])).toBe(0); // a repeated ack is harmless
      const boot = o.boot;
      await o.close();
      o = open();
      expect(o.boot).toBe(boot + 1);
      const after = o.next(10, new Set());
      expect(after).toHaveLength(1);
      expect(after[0]!.seq).toBe(2);
      expect(after[0]!.bytes).toEqual(before[1]!.bytes);
      await o.append(readings(100, 1_000));
      o.cut(policy());
      expect(o.next(10, new Set()).map((b) => b.seq)).toEqual([2, 3]);
      o.ack([2, 3]);
      await o.close();
      o = open();
      await o.append(readings(100, 2_000));
      o.cut(policy());
      expect(o.next(10, new Set()).map((b) => b.seq)).toEqual([4]); // 3 was acked and deleted, still not reused
    });

    it('marks batches historical when the uplink is down or the rows are old', async () => {
      const o = open();
      await o.append(readings(100));
      o.cut(policy({ uplinkConnected: false }));
      await o.append(readings(100, 500));
      o.cut(policy({ now: T0 + 60_000 }));
      await o.append(readings(100, 900));
      o.cut(policy());
      // the third append was accepted at T0 too (injected clock) and cut at T0: live
      const flags = o.next(10, new Set()).map((b) => decodeBatch(b.bytes).historical);
      expect(flags).toEqual([true, true, false]);
    });

    it('over quota drops the oldest telemetry first, never events, and leaves a gap event', async () => {
      const o = open({ quotaBytes: 96 * 1024 });
      await o.appendEvent({ device: 'wb-1', type: 'fall', severity: 'critical', ts: T0, data: {} });
      for (let i = 0; i < 60; i++) {
        await o.append(readings(200, i * 200, `dev-${i}`));
        o.cut(policy({ maxReadings: 200 }));
      }
      const s = o.stats();
      expect(s.droppedReadings).toBeGreaterThan(0);
      expect(s.bytesUsed).toBeLessThanOrEqual(96 * 1024);
      o.cut(policy());
      const events = o
        .next(1_000, new Set())
        .filter((b) => b.lane === 'event')
        .flatMap((b) => decodeBatch(b.bytes).events);
      expect(events.find((e) => e.type === 'fall')).toBeDefined();
      const gaps = events.filter((e) => e.type === 'gap');
      expect(gaps.length).toBeGreaterThan(0);
      expect(gaps.reduce((n, g) => n + (g.data.dropped as number), 0)).toBe(s.droppedReadings);
      // the oldest devices went first; the newest are all still here
      const kept = o
        .next(1_000, new Set())
        .filter((b) => b.lane === 'telemetry')
        .flatMap((b) => decodeBatch(b.bytes).readings);
      expect(kept.some((r) => r.device === 'dev-59')).toBe(true);
      expect(kept.some((r) => r.device === 'dev-0')).toBe(false);
      expect(kept.length + s.droppedReadings).toBe(60 * 200);
    });

    it('a rejected telemetry batch is deleted, counted and reported as a gap', async () => {
      const o = open();
      await o.append(readings(100));
      o.cut(policy());
      const [b] = o.next(1, new Set());
      o.reject(b!.seq, 'bad batch');
      o.cut(policy());
      const [gap] = o.next(5, new Set());
      expect(gap!.lane).toBe('event');
      expect(decodeBatch(gap!.bytes).events[0]).toMatchObject({
        type: 'gap',
        data: { dropped: 100, seq: b!.seq },
      });
      expect(o.stats()).toMatchObject({ rejectedBatches: 1, droppedReadings: 100 });
    });
  });
}
