import { describe, expect, it } from 'vitest';
import { URGENT_MS, countdown } from '../src/countdown.js';

const T = Date.parse('2026-06-01T08:00:00+08:00');

describe('incident countdown', () => {
  it('counts mm:ss down to the deadline', () => {
    expect(countdown(T + 180_000, T)).toEqual({ clock: '03:00', overdue: false, urgent: false });
    expect(countdown(T + 61_400, T).clock).toBe('01:01');
  });
  it('is urgent under 30 s left, and at the deadline itself not yet overdue', () => {
    expect(countdown(T + URGENT_MS, T).urgent).toBe(false);
    expect(countdown(T + URGENT_MS - 1, T).urgent).toBe(true);
    expect(countdown(T, T)).toEqual({ clock: '00:00', overdue: false, urgent: true });
  });
  it('past the deadline counts the time since it, h:mm:ss from an hour on', () => {
    expect(countdown(T, T + 5_000)).toEqual({ clock: '00:05', overdue: true, urgent: true });
    expect(countdown(T, T + 3_599_000).clock).toBe('59:59');
    expect(countdown(T, T + 3_600_000 + 62_000).clock).toBe('1:01:02');
    expect(countdown(T, T + 26 * 3_600_000).clock).toBe('26:00:00');
  });
});
