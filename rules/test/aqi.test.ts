import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AQI_ITEMS,
  type AqiItem,
  type AqiTableVersion,
  HJ633_2026_IN_FORCE_MS,
  RulesError,
  aqiLevel,
  aqiTableVersionAt,
  computeAqi,
  iaqi,
  reportedConcentration,
} from '../src/index.js';

// Expected breakpoints written out from HJ 633-2012 table 1 and the 2026 revision (PM rows),
// independently of src/aqi-tables.ts, so a typo in the source table fails here.
const STEPS = [0, 50, 100, 150, 200, 300, 400, 500];
const EXPECTED_2012: Record<AqiItem, number[]> = {
  SO2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  SO2_1h: [0, 150, 500, 650, 800],
  NO2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  NO2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  PM10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  CO_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  CO_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  O3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  O3_8h: [0, 100, 160, 215, 265, 800],
  'PM2.5_24h': [0, 35, 75, 115, 150, 250, 350, 500],
};
const EXPECTED: Record<AqiTableVersion, Record<AqiItem, number[]>> = {
  'HJ633-2012': EXPECTED_2012,
  'HJ633-2026': {
    ...EXPECTED_2012,
    PM10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
    'PM2.5_24h': [0, 35, 60, 115, 150, 250, 350, 500],
  },
};
const VERSIONS: AqiTableVersion[] = ['HJ633-2012', 'HJ633-2026'];

describe('IAQI at every breakpoint of every table of both versions', () => {
  for (const version of VERSIONS) {
    for (const item of AQI_ITEMS) {
      const bps = EXPECTED[version][item];
      it(`${version} ${item}: breakpoints, midpoints, just above each breakpoint`, () => {
        bps.forEach((bp, i) => {
          expect(iaqi(item, bp, version), `${item} at ${bp}`).toEqual({ iaqi: STEPS[i], beyondScale: false });
        });
        for (let i = 1; i < bps.length; i++) {
          // The midpoint of a segment is exactly halfway in IAQI: no rounding involved.
          const mid = (bps[i - 1] + bps[i]) / 2;
          expect(iaqi(item, mid, version).iaqi, `${item} at ${mid}`).toBe((STEPS[i - 1] + STEPS[i]) / 2);
          // Any amount above a breakpoint rounds up to the next integer IAQI (ceil).
          expect(iaqi(item, bps[i - 1] + 0.001, version).iaqi, `${item} just above ${bps[i - 1]}`).toBe(
            STEPS[i - 1] + 1,
          );
        }
      });
    }
  }
});

describe('IAQI between breakpoints (worked by hand)', () => {
  it('PM2.5 80 µg/m³: 2012 gives 107, 2026 gives 119', () => {
    // 2012: 100 + 50/40 × 5 = 106.25 → 107; 2026: 100 + 50/55 × 20 = 118.18 → 119.
    expect(iaqi('PM2.5_24h', 80, 'HJ633-2012').iaqi).toBe(107);
    expect(iaqi('PM2.5_24h', 80, 'HJ633-2026').iaqi).toBe(119);
  });
  it('PM10 130 µg/m³: 2012 gives 90, 2026 gives 104', () => {
    // 2012: 50 + 50/100 × 80 = 90; 2026: 100 + 50/130 × 10 = 103.8 → 104.
    expect(iaqi('PM10_24h', 130, 'HJ633-2012').iaqi).toBe(90);
    expect(iaqi('PM10_24h', 130, 'HJ633-2026').iaqi).toBe(104);
  });
  it('does not round up where binary floating point would', () => {
    // Each value makes the formula land exactly on an integer; naive float arithmetic lands
    // a hair above it and ceil() adds one (checked: naive gives 204, 8, 405).
    expect(iaqi('PM10_24h', 352.1, 'HJ633-2012').iaqi).toBe(203); // 200 + 100/70 × 2.1 = 203
    expect(iaqi('CO_24h', 0.28, 'HJ633-2012').iaqi).toBe(7); // 50/2 × 0.28 = 7
    expect(iaqi('SO2_24h', 2120.8, 'HJ633-2012').iaqi).toBe(404); // 400 + 100/520 × 20.8 = 404
    expect(iaqi('PM2.5_24h', 0.1 + 0.2, 'HJ633-2012').iaqi).toBe(1); // 0.30000000000000004 is read as itself: above 0.3
  });
});

describe('above the top breakpoint', () => {
  it('caps full rows at 500 and says the value is beyond the scale', () => {
    for (const version of VERSIONS) {
      expect(iaqi('PM2.5_24h', 500.5, version)).toEqual({ iaqi: 500, beyondScale: true });
      expect(iaqi('PM10_24h', 900, version)).toEqual({ iaqi: 500, beyondScale: true });
      expect(iaqi('CO_1h', 151, version)).toEqual({ iaqi: 500, beyondScale: true });
    }
  });
  it('SO2 1-hour above 800 is not computed; the 24-hour IAQI is used', () => {
    expect(iaqi('SO2_1h', 801, 'HJ633-2012')).toEqual({
      iaqi: null,
      replacedBy: 'SO2_24h',
      beyondScale: false,
    });
    const r = computeAqi({ SO2_1h: 900, SO2_24h: 475 }, { version: 'HJ633-2012' });
    expect(r.aqi).toBe(150);
    expect(r.primary).toEqual(['SO2_24h']);
    expect(r.warnings).toEqual([]);
    const alone = computeAqi({ SO2_1h: 900, NO2_1h: 100 }, { version: 'HJ633-2012' });
    expect(alone.aqi).toBe(50);
    expect(alone.warnings[0]).toMatch(/SO2_1h.*SO2_24h/);
  });
  it('O3 8-hour above 800 is not computed; the 1-hour IAQI is used', () => {
    expect(iaqi('O3_8h', 800.01, 'HJ633-2026')).toEqual({
      iaqi: null,
      replacedBy: 'O3_1h',
      beyondScale: false,
    });
    const r = computeAqi({ O3_8h: 850, O3_1h: 1000 }, { version: 'HJ633-2026' });
    expect(r.aqi).toBe(400);
    expect(r.primary).toEqual(['O3_1h']);
  });
});

describe('AQI, level and primary pollutant', () => {
  it('AQI is the max IAQI; no primary pollutant at or below 50', () => {
    const r = computeAqi({ 'PM2.5_24h': 35, PM10_24h: 40, NO2_24h: 20 }, { version: 'HJ633-2012' });
    expect(r.aqi).toBe(50);
    expect(r.level?.nameZh).toBe('优');
    expect(r.primary).toEqual([]);
  });
  it('lists tied pollutants together and flags exceeding ones', () => {
    const r = computeAqi({ 'PM2.5_24h': 115, PM10_24h: 250, NO2_24h: 40 }, { version: 'HJ633-2012' });
    expect(r.aqi).toBe(150);
    expect(r.primary).toEqual(['PM10_24h', 'PM2.5_24h']);
    expect(r.primaryPollutants).toEqual(['PM10', 'PM2.5']);
    expect(r.exceeding).toEqual(['PM10_24h', 'PM2.5_24h']);
    expect(r.level).toMatchObject({
      level: 3,
      nameZh: '轻度污染',
      nameEn: 'Lightly Polluted',
      color: '#FF7E00',
    });
  });
  it('levels 1–6 at their edges', () => {
    const cases: [number, number, string][] = [
      [0, 1, '优'],
      [50, 1, '优'],
      [51, 2, '良'],
      [100, 2, '良'],
      [101, 3, '轻度污染'],
      [151, 4, '中度污染'],
      [200, 4, '中度污染'],
      [201, 5, '重度污染'],
      [300, 5, '重度污染'],
      [301, 6, '严重污染'],
      [500, 6, '严重污染'],
    ];
    for (const [aqi, level, zh] of cases)
      expect(aqiLevel(aqi), String(aqi)).toMatchObject({ level, nameZh: zh });
  });
  it('chooses the table in force at the data time (2026-03-01 00:00 UTC+8)', () => {
    expect(aqiTableVersionAt(HJ633_2026_IN_FORCE_MS - 1)).toBe('HJ633-2012');
    expect(aqiTableVersionAt(HJ633_2026_IN_FORCE_MS)).toBe('HJ633-2026');
    expect(HJ633_2026_IN_FORCE_MS).toBe(Date.parse('2026-03-01T00:00:00+08:00'));
    expect(computeAqi({ 'PM2.5_24h': 80 }, { at: HJ633_2026_IN_FORCE_MS - 1 }).aqi).toBe(107);
    expect(computeAqi({ 'PM2.5_24h': 80 }, { at: HJ633_2026_IN_FORCE_MS }).aqi).toBe(119);
    // Configured version wins over the time.
    expect(computeAqi({ 'PM2.5_24h': 80 }, { at: HJ633_2026_IN_FORCE_MS, version: 'HJ633-2012' }).aqi).toBe(
      107,
    );
  });
  it('rejects bad concentrations with a typed error naming the item', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '35' as unknown as number]) {
      expect(() => iaqi('PM2.5_24h', bad, 'HJ633-2012')).toThrow(RulesError);
    }
    expect(() => iaqi('PM2.5_24h', -1, 'HJ633-2012')).toThrow(/PM2.5_24h/);
    expect(() => computeAqi({ NO2_1h: 10 }, {})).toThrow(/options.at/);
  });
});

describe('properties', () => {
  it('IAQI is monotonic in concentration and stays within 0..500', () => {
    const item = fc.constantFrom(...AQI_ITEMS);
    const version = fc.constantFrom(...VERSIONS);
    const conc = fc.integer({ min: 0, max: 400_000 }).map((n) => n / 100);
    fc.assert(
      fc.property(item, version, conc, conc, (it, v, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const x = iaqi(it, lo, v).iaqi;
        const y = iaqi(it, hi, v).iaqi;
        if (x === null || y === null) return y === null; // truncated rows stop being computed only upwards
        return x <= y && x >= 0 && y <= 500;
      }),
      { numRuns: 2000 },
    );
  });
  it('the 2026 PM rows never give a lower IAQI than the 2012 ones', () => {
    const conc = fc.integer({ min: 0, max: 70_000 }).map((n) => n / 100);
    fc.assert(
      fc.property(fc.constantFrom<AqiItem>('PM10_24h', 'PM2.5_24h'), conc, (it, c) => {
        return (iaqi(it, c, 'HJ633-2026').iaqi ?? 0) >= (iaqi(it, c, 'HJ633-2012').iaqi ?? 0);
      }),
    );
  });
});

describe('concentrations at their reporting precision before IAQI (HJ 663, GB/T 8170)', () => {
  const v = 'HJ633-2012' as const;
  it('PM2.5 75.3 is reported as 75: IAQI 100 (良), not 101 (轻度污染)', () => {
    const r = computeAqi({ 'PM2.5_24h': 75.3 }, { version: v });
    expect(r.items[0]).toMatchObject({ concentration: 75.3, reported: 75, iaqi: 100 });
    expect(r.aqi).toBe(100);
    expect(r.level?.nameZh).toBe('良');
  });
  it('rounds exactly half to the even neighbour, above half up, below half down', () => {
    // 75.5 → 76 (75 is odd): 100 + 50/40 × 1 = 101.25 → 102; 74.5 → 74: 50 + 50/40 × 39 = 98.75 → 99.
    expect(computeAqi({ 'PM2.5_24h': 75.5 }, { version: v }).aqi).toBe(102);
    expect(computeAqi({ 'PM2.5_24h': 74.5 }, { version: v }).aqi).toBe(99);
    expect(computeAqi({ 'PM2.5_24h': 75.50001 }, { version: v }).aqi).toBe(102);
    expect(computeAqi({ 'PM2.5_24h': 76.5 }, { version: v }).aqi).toBe(102); // → 76
    expect(computeAqi({ PM10_24h: 150.4 }, { version: v }).aqi).toBe(100);
    expect(computeAqi({ NO2_1h: 200.49 }, { version: v }).aqi).toBe(100);
    expect(computeAqi({ O3_1h: 160.2 }, { version: v }).aqi).toBe(50);
    expect(computeAqi({ SO2_24h: 50.5 }, { version: v }).aqi).toBe(50); // → 50 (0 even)
  });
  it('CO keeps one decimal in mg/m³', () => {
    expect(computeAqi({ CO_24h: 4.04 }, { version: v }).aqi).toBe(100);
    expect(computeAqi({ CO_24h: 4.05 }, { version: v }).aqi).toBe(100); // → 4.0
    expect(computeAqi({ CO_24h: 4.15 }, { version: v }).aqi).toBe(101); // → 4.2: 100 + 5 × 0.2 = 101
    expect(computeAqi({ CO_1h: 10.06 }, { version: v }).aqi).toBe(101); // → 10.1: 100 + 2 × 0.1 = 100.2
    // GB/T 8170's own examples, which binary floating point gets wrong.
    expect(reportedConcentration('CO_1h', 0.35)).toBe(0.4);
    expect(reportedConcentration('CO_1h', 1.05)).toBe(1.0);
  });
  it('2026 table: PM2.5 60.4 → 60 is IAQI 100; 60.6 → 61 is 101', () => {
    expect(computeAqi({ 'PM2.5_24h': 60.4 }, { version: 'HJ633-2026' }).aqi).toBe(100);
    expect(computeAqi({ 'PM2.5_24h': 60.6 }, { version: 'HJ633-2026' }).aqi).toBe(101);
  });
  it('SO2 1-hour and O3 8-hour at 800 after rounding are still on their rows', () => {
    expect(computeAqi({ SO2_1h: 800.4 }, { version: v }).aqi).toBe(200);
    expect(computeAqi({ SO2_1h: 800.5 }, { version: v }).aqi).toBe(200); // → 800
    expect(computeAqi({ O3_8h: 800.5, O3_1h: 100 }, { version: v }).aqi).toBe(300);
    const above = computeAqi({ SO2_1h: 800.6, SO2_24h: 160 }, { version: v });
    expect(above.items.find((e) => e.item === 'SO2_1h')).toMatchObject({ reported: 801, iaqi: null });
    expect(above.aqi).toBe(102); // SO2_24h 160: 100 + 50/325 × 10 = 101.5 → 102
  });
});

describe('computeAqi never throws on a bad concentration: it flags it', () => {
  it('a negative concentration is left out and flagged; the rest still give an AQI', () => {
    const r = computeAqi({ 'PM2.5_24h': -3, PM10_24h: 80 }, { version: 'HJ633-2012' });
    expect(r.aqi).toBe(65); // PM10 80: 50 + 50/100 × 30 = 65
    expect(r.items.map((e) => e.item)).toEqual(['PM10_24h']);
    expect(r.flags).toEqual([{ code: 'negative', item: 'PM2.5_24h', value: -3 }]);
    expect(r.warnings[0]).toMatch(/PM2.5_24h.*negative/);
  });
  it('NaN, Infinity and strings are flagged as not a number', () => {
    const r = computeAqi(
      { NO2_1h: Number.NaN, CO_1h: Number.POSITIVE_INFINITY, O3_1h: '35' as unknown as number },
      { version: 'HJ633-2012' },
    );
    expect(r.aqi).toBeNull();
    expect(r.flags.map((f) => [f.code, f.item])).toEqual([
      ['not_a_number', 'NO2_1h'],
      ['not_a_number', 'CO_1h'],
      ['not_a_number', 'O3_1h'],
    ]);
  });
  it('SO2 1-hour above 800 with no 24-hour value: a typed flag says SO2 has no IAQI', () => {
    const r = computeAqi({ SO2_1h: 900, NO2_1h: 100 }, { version: 'HJ633-2012' });
    expect(r.aqi).toBe(50);
    expect(r.flags).toEqual([
      { code: 'replacement_missing', item: 'SO2_1h', value: 900, replacedBy: 'SO2_24h' },
    ]);
    // A negative 24-hour value is no replacement either.
    const neg = computeAqi({ SO2_1h: 900, SO2_24h: -1 }, { version: 'HJ633-2012' });
    expect(neg.flags.map((f) => f.code)).toEqual(['negative', 'replacement_missing']);
    expect(computeAqi({ SO2_1h: 900, SO2_24h: 475 }, { version: 'HJ633-2012' }).flags).toEqual([]);
  });
});
