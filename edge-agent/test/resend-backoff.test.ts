import { describe, expect, it } from 'vitest';
import {
  RESEND_JITTER,
  firstResendTimer,
  firstTimeoutMs,
  freshAckRtt,
  nextResendTimer,
  observeAckRtt,
} from '../src/resend-backoff.js';

describe('resend backoff', () => {
  it('doubles the wait at each resend up to the cap, and never stops resending', () => {
    const none = () => 0; // no jitter: the wait is the base
    let t = firstResendTimer(15_000, none);
    const waits = [t.waitMs];
    for (let i = 0; i < 20; i++) {
      t = nextResendTimer(t, 120_000, none);
      waits.push(t.waitMs);
    }
    expect(waits.slice(0, 6)).toEqual([15_000, 30_000, 60_000, 120_000, 120_000, 120_000]);
    // No last attempt: the 21st resend is scheduled like the 4th.
    expect(waits.every((w) => Number.isFinite(w) && w > 0)).toBe(true);
    expect(waits.at(-1)).toBe(120_000);
  });

  it('jitters each wait down by at most RESEND_JITTER, never above the cap', () => {
    const most = () => 0.999_999;
    expect(firstResendTimer(1_000, most).waitMs).toBe(Math.round(1_000 * (1 - RESEND_JITTER)));
    const capped = nextResendTimer({ baseMs: 100_000, waitMs: 90_000 }, 120_000, most);
    expect(capped.baseMs).toBe(120_000);
    expect(capped.waitMs).toBeLessThanOrEqual(120_000);
    expect(capped.waitMs).toBeGreaterThanOrEqual(120_000 * (1 - RESEND_JITTER));
    // The jitter does not compound: the base doubles from the base, not from the jittered wait.
    expect(nextResendTimer({ baseMs: 1_000, waitMs: 800 }, 120_000, () => 0).waitMs).toBe(2_000);
  });
});

describe('the first timeout follows the ack round trip (RFC 6298)', () => {
  it('stays at ackTimeoutMs while the cloud acks fast, and grows past the latency of a slow cloud', () => {
    let rtt = freshAckRtt();
    expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBe(15_000);
    for (let i = 0; i < 20; i++) rtt = observeAckRtt(rtt, 20);
    expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBe(15_000);
    // The queue grows: acks come 1 s later each second, up to 30 s; the timeout stays ahead of them.
    for (let s = 1; s <= 30; s++) {
      rtt = observeAckRtt(rtt, s * 1_000);
      if (s >= 20) expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBeGreaterThan(s * 1_000);
    }
    expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBeLessThanOrEqual(120_000);
  });

  it('never goes below ackTimeoutMs nor above the cap', () => {
    let rtt = freshAckRtt();
    for (let i = 0; i < 50; i++) rtt = observeAckRtt(rtt, 500_000);
    expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBe(120_000);
    for (let i = 0; i < 200; i++) rtt = observeAckRtt(rtt, 1);
    expect(firstTimeoutMs(rtt, 15_000, 120_000)).toBe(15_000);
  });
});
