import { describe, expect, it } from 'vitest';
import { type AqiSample, dailyAqi, dayStart, hourlyAqi, learnedInterval } from '../src/index.js';

const H = 3_600_000;
const M = 60_000;
/** 2026-01-15 10:00 China time (02:00 UTC): the 2012 tables are in force. */
const HOUR = Date.UTC(2026, 0, 15, 2);
const DAY = dayStart(HOUR);

/** `count` samples of a 5-minute sensor in the hour starting at `hour`, all of `value`. */
function fiveMinute(
  device: string,
  pollutant: AqiSample['pollutant'],
  hour: number,
  value: number,
  count = 12,
): AqiSample[] {
  return Array.from({ length: count }, (_, i) => ({ device, pollutant, ts: hour + i * 5 * M, value }));
}
/** Whole hours `from`..`to-1` (hour starts) of a 5-minute sensor at `value`. */
function hours(
  device: string,
  pollutant: AqiSample['pollutant'],
  from: number,
  n: number,
  value: (h: number) => number,
) {
  return Array.from({ length: n }, (_, i) => fiveMinute(device, pollutant, from + i * H, value(i))).flat();
}

describe('published AQI (clock-hour means, GB 3095 validity, HJ 633 hourly and daily)', () => {
  it("counts 45 minutes on each sensor's own interval: 9 of 12 five-minute slots are valid, 8 are not", () => {
    expect(learnedInterval([0, 5 * M, 10 * M, 20 * M])).toBe(5 * M);
    const ok = hourlyAqi(fiveMinute('pm-1', 'PM2.5', HOUR, 30, 9), HOUR);
    expect(ok.means['PM2.5']?.['1h']).toMatchObject({ valid: true, value: 30 });
    const short = hourlyAqi(fiveMinute('pm-1', 'PM2.5', HOUR, 30, 8), HOUR);
    expect(short.means['PM2.5']?.['1h']).toMatchObject({ valid: false, value: null });
    expect(short.result.aqi).toBeNull();
    // An hourly sensor: one reading covers its hour.
    const hourly = [0, 1, 2].map((i) => ({
      device: 'pm-h',
      pollutant: 'PM2.5' as const,
      ts: HOUR - (2 - i) * H,
      value: 20,
    }));
    expect(hourlyAqi(hourly, HOUR).means['PM2.5']?.['1h']).toMatchObject({ valid: true, value: 20 });
  });

  it('a replayed duplicate changes no mean', () => {
    const samples = [
      ...fiveMinute('pm-1', 'PM2.5', HOUR, 30),
      { device: 'pm-1', pollutant: 'PM2.5' as const, ts: HOUR, value: 30 },
    ];
    samples.push({ ...samples[0]!, value: 30 });
    const twice = [...samples, ...fiveMinute('pm-1', 'PM2.5', HOUR, 30)];
    expect(hourlyAqi(twice, HOUR).means['PM2.5']?.['1h']).toEqual(
      hourlyAqi(fiveMinute('pm-1', 'PM2.5', HOUR, 30), HOUR).means['PM2.5']?.['1h'],
    );
  });

  it('PM2.5 hourly mean 75.3 is reported as 75 before its IAQI: AQI 100 (良), not 101', () => {
    const a = hourlyAqi(fiveMinute('pm-1', 'PM2.5', HOUR, 75.3), HOUR);
    expect(a.concentrations['PM2.5_24h']).toBeCloseTo(75.3);
    expect([a.result.aqi, a.result.level?.nameZh]).toEqual([100, '良']);
  });

  it('O3 at 150 for 8 hours: the 8-hour mean gives AQI 92, where the 1-hour row alone gives 47', () => {
    const o3 = hours('o3-1', 'O3', HOUR - 7 * H, 8, () => 150);
    const a = hourlyAqi(o3, HOUR);
    expect(a.means.O3?.['8h']).toMatchObject({ valid: true, value: 150, n: 8 });
    expect(a.result.items.map((i) => [i.item, i.iaqi])).toEqual([
      ['O3_1h', 47],
      ['O3_8h', 92],
    ]);
    expect([a.result.aqi, a.result.primaryPollutants]).toEqual([92, ['O3']]);
    // With only 5 valid hours there is no 8-hour mean (6 needed).
    expect(
      hourlyAqi(
        hours('o3-1', 'O3', HOUR - 4 * H, 5, () => 150),
        HOUR,
      ).means.O3?.['8h']?.valid,
    ).toBe(false);
  });

  it('SO2 1 h above 800 falls back to the 24-hour mean; below it, the 24-hour mean is not in the hourly AQI', () => {
    const so2 = hours('so2-1', 'SO2', HOUR - 23 * H, 24, (i) => (i === 23 ? 900 : 100));
    const a = hourlyAqi(so2, HOUR);
    // 24-h mean (23·100 + 900)/24 = 133.3 → 133: 50 + (133 − 50)/100·50 = 91.5 → 92.
    expect(a.result.items.map((i) => [i.item, i.iaqi])).toEqual([
      ['SO2_24h', 92],
      ['SO2_1h', null],
    ]);
    const low = hourlyAqi(
      hours('so2-1', 'SO2', HOUR - 23 * H, 24, () => 100),
      HOUR,
    );
    expect(low.result.items.map((i) => i.item)).toEqual(['SO2_1h']);
  });

  it('the daily AQI uses natural-day 24-hour means (20 hours needed) and the daily max 8-hour O3', () => {
    const pm = hours('pm-1', 'PM2.5', DAY, 24, (i) => (i < 12 ? 40 : 80));
    const o3 = hours('o3-1', 'O3', DAY, 24, (i) => (i >= 10 && i < 18 ? 180 : 60));
    const d = dailyAqi([...pm, ...o3], DAY);
    expect(d.means['PM2.5']?.['24h']).toMatchObject({ valid: true, value: 60, n: 24 });
    expect(d.means.O3?.max8h).toMatchObject({ valid: true, value: 180, n: 17 });
    expect(d.means.O3?.max1h).toMatchObject({ valid: true, value: 180 });
    // O3 8 h 180 (row 160–215 → 100–150): 118.2 → 119; O3 1 h 180 (160–200 → 50–100): 75;
    // PM2.5 60 (35–75 → 50–100): 81.25 → 82.
    expect(d.result.items.map((i) => [i.item, i.iaqi])).toEqual([
      ['O3_1h', 75],
      ['O3_8h', 119],
      ['PM2.5_24h', 82],
    ]);
    expect(d.result.aqi).toBe(119);
    // 19 valid hours: no daily PM2.5.
    const short = dailyAqi(
      hours('pm-1', 'PM2.5', DAY, 19, () => 40),
      DAY,
    );
    expect(short.means['PM2.5']?.['24h']?.valid).toBe(false);
  });

  it('natural days are local (UTC+8) days', () => {
    expect(new Date(dayStart(Date.UTC(2026, 0, 15, 15, 59))).toISOString()).toBe('2026-01-14T16:00:00.000Z');
    expect(new Date(dayStart(Date.UTC(2026, 0, 15, 16, 0))).toISOString()).toBe('2026-01-15T16:00:00.000Z');
  });
});
