import type { DeviceEvent } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import { createClockOffsetMonitor } from '../src/clock-offset.js';

const T0 = Date.UTC(2026, 0, 1);

describe('clock offset from the cloud acks', () => {
  const monitor = () => {
    const events: DeviceEvent[] = [];
    const gauge: number[] = [];
    const m = createClockOffsetMonitor({
      edgeId: 'edge-1',
      thresholdS: 60,
      report: (e) => events.push(e),
      onOffset: (s) => gauge.push(s),
    });
    return { m, events, gauge };
  };

  it('takes the cloud time against the midpoint of send and ack', () => {
    const { m, gauge } = monitor();
    expect(m.offsetS).toBeUndefined();
    // Sent at T0, acked 200 ms later (edge clock); the cloud, 5 s ahead, stamped it at its T0+5.1 s.
    expect(m.observe(T0, T0 + 200, T0 + 5_100)).toBeCloseTo(5, 6);
    expect(m.offsetS).toBeCloseTo(5, 6);
    // An edge clock 90 s ahead of the cloud: negative.
    expect(m.observe(T0, T0 + 100, T0 + 50 - 90_000)).toBeCloseTo(-90, 6);
    expect(gauge).toHaveLength(2);
  });

  it('raises one event when the offset passes the threshold, and again only after it came back', () => {
    const { m, events } = monitor();
    m.observe(T0, T0 + 10, T0 + 5 + 30_000); // 30 s: within
    expect(events).toEqual([]);
    m.observe(T0, T0 + 10, T0 + 5 + 61_000); // 61 s: beyond
    m.observe(T0, T0 + 10, T0 + 5 + 62_000); // still beyond: no second event
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      device: 'edge-1',
      type: 'clock_offset',
      severity: 'warning',
      ts: T0 + 10,
      data: { offsetS: 61, thresholdS: 60, rttMs: 10 },
    });
    m.observe(T0, T0 + 10, T0 + 5); // back in sync
    m.observe(T0, T0 + 10, T0 + 5 - 120_000); // 2 minutes behind
    expect(events).toHaveLength(2);
    expect(events[1]!.data.offsetS).toBe(-120);
  });
});
