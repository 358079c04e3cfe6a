import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HOUR_MS,
  RulesError,
  addSample,
  createRollingMean,
  hourlyMean,
  resolveRollingMeanOptions,
  rollingMeans,
} from '../src/index.js';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const MIN = 60_000;
const opts = resolveRollingMeanOptions();

/** One reading per minute for `minutes` minutes from the start of hour h, value v(h, m). */
function fillHour(
  s: ReturnType<typeof createRollingMean>,
  h: number,
  minutes: number,
  v: (h: number, m: number) => number,
) {
  for (let m = 0; m < minutes; m++) addSample(s, opts, T0 + h * HOUR_MS + m * MIN, v(h, m));
}

describe('hourly mean completeness (45 minutes)', () => {
  it('45 minutes of data is valid, 44 is not', () => {
    const s = createRollingMean();
    fillHour(s, 0, 45, () => 10);
    fillHour(s, 1, 44, () => 10);
    expect(hourlyMean(s, opts, T0)).toMatchObject({ valid: true, value: 10, samples: 45 });
    const bad = hourlyMean(s, opts, T0 + HOUR_MS);
    expect(bad.valid).toBe(false);
    if (!bad.valid) expect(bad.reason).toMatch(/44 of the 45/);
  });
  it('a replayed reading in the same minute does not count as more coverage', () => {
    const s = createRollingMean();
    for (let i = 0; i < 100; i++) addSample(s, opts, T0 + 5 * MIN, 10);
    expect(hourlyMean(s, opts, T0).valid).toBe(false);
  });
  it('a replayed duplicate (same time) is ignored: a true 50 stays 50', () => {
    const s = createRollingMean();
    for (let m = 0; m < 60; m++) addSample(s, opts, T0 + m * MIN, 50);
    // The journal re-feeds a sample it already holds, here with another value (a rewrite).
    expect(addSample(s, opts, T0 + 7 * MIN, 100)).toBe('duplicate');
    expect(addSample(s, opts, T0 + 7 * MIN, 50)).toBe('duplicate');
    expect(hourlyMean(s, opts, T0)).toMatchObject({ valid: true, value: 50, samples: 60 });
    const back = JSON.parse(JSON.stringify(s));
    expect(addSample(back, opts, T0 + 59 * MIN, 0)).toBe('duplicate');
  });
  it('a configurable count for other reporting intervals', () => {
    const five = resolveRollingMeanOptions({ sampleIntervalMs: 5 * MIN });
    expect(five.minSlots).toBe(9);
    const custom = resolveRollingMeanOptions({ sampleIntervalMs: 5 * MIN, minSlotsPerHour: 12 });
    const s = createRollingMean();
    for (let i = 0; i < 11; i++) addSample(s, custom, T0 + i * 5 * MIN, i);
    expect(hourlyMean(s, five, T0).valid).toBe(true);
    expect(hourlyMean(s, custom, T0).valid).toBe(false);
    expect(() => resolveRollingMeanOptions({ minSlotsPerHour: 61 })).toThrow(RulesError);
  });
});

describe('8-hour and 24-hour moving means', () => {
  it('8 h needs 6 valid hours; 24 h needs 20', () => {
    const s = createRollingMean();
    // Hours 0..23: hour h has value h; hours 3 and 4 incomplete.
    for (let h = 0; h < 24; h++) fillHour(s, h, h === 3 || h === 4 ? 30 : 60, (hh) => hh);
    const at24 = rollingMeans(s, opts, T0 + 24 * HOUR_MS + 10 * MIN);
    expect(at24['1h']).toMatchObject({ valid: true, value: 23 });
    // Hours 16..23: mean 19.5.
    expect(at24['8h']).toMatchObject({ valid: true, value: 19.5, samples: 8 });
    // 22 valid hours: (sum 0..23 - 3 - 4) / 22.
    expect(at24['24h']).toMatchObject({ valid: true, samples: 22, value: (276 - 7) / 22 });
    // The 8 h window ending at 08:00 holds hours 0..7 of which 6 are valid: still valid.
    expect(rollingMeans(s, opts, T0 + 8 * HOUR_MS)['8h']).toMatchObject({ valid: true, samples: 6 });
  });
  it('reports too few hours as not valid, with a reason, not a number', () => {
    const s = createRollingMean();
    for (let h = 0; h < 19; h++) fillHour(s, h, 60, () => 1);
    const r = rollingMeans(s, opts, T0 + 24 * HOUR_MS);
    expect(r['24h'].valid).toBe(false);
    expect(r['24h']).not.toHaveProperty('value');
    if (!r['24h'].valid) expect(r['24h'].reason).toMatch(/19 valid hourly means of the 20/);
    const five = createRollingMean();
    for (let h = 0; h < 5; h++) fillHour(five, h, 60, () => 1);
    expect(rollingMeans(five, opts, T0 + 8 * HOUR_MS)['8h'].valid).toBe(false);
  });
  it('keeps bounded memory and refuses readings older than its window', () => {
    const s = createRollingMean();
    for (let h = 0; h < 100; h++) fillHour(s, h, 1, () => 1);
    expect(s.buckets.length).toBeLessThanOrEqual(25);
    expect(addSample(s, opts, T0, 1)).toBe('too-old');
    expect(s.tooOld).toBe(1);
  });
  it('accepts out-of-order readings inside the window', () => {
    const s = createRollingMean();
    fillHour(s, 2, 60, () => 2);
    fillHour(s, 1, 60, () => 1);
    expect(s.buckets.map((b) => b.hour)).toEqual([T0 + HOUR_MS, T0 + 2 * HOUR_MS]);
    expect(hourlyMean(s, opts, T0 + HOUR_MS)).toMatchObject({ valid: true, value: 1 });
  });
  it('state survives a JSON round trip', () => {
    const s = createRollingMean();
    for (let h = 0; h < 8; h++) fillHour(s, h, 60, (hh, m) => hh * 100 + m);
    const back = JSON.parse(JSON.stringify(s));
    expect(rollingMeans(back, opts, T0 + 8 * HOUR_MS)).toEqual(rollingMeans(s, opts, T0 + 8 * HOUR_MS));
  });
  it('property: a valid mean lies between the smallest and largest sample', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 60, maxLength: 60 }), (vals) => {
        const s = createRollingMean();
        vals.forEach((v, m) => addSample(s, opts, T0 + m * MIN, v));
        const r = hourlyMean(s, opts, T0);
        return r.valid && r.value >= Math.min(...vals) - 1e-9 && r.value <= Math.max(...vals) + 1e-9;
      }),
    );
  });
});
