import type { Latest } from '@village/protocol/api';
import { describe, expect, it } from 'vitest';
import { AQI_STALE_AFTER_MS, stationAqi, stationWaterClass } from '../src/air-water-index.js';

const T = Date.parse('2026-06-01T08:00:00+08:00');
const l = (
  metric: string,
  value: number,
  unit: string,
  quality: Latest['quality'] = 'good',
  ts = T,
): Latest => ({
  device: 'd1',
  metric,
  unit,
  ts,
  value,
  quality,
  station: 's1',
});

describe('station water class uses the water body from the registry', () => {
  const pond = [
    l('ph', 7.4, 'pH'),
    l('dissolved_oxygen', 6.2, 'mg/L'),
    l('nh3_n', 0.4, 'mg/L'),
    l('tp', 0.15, 'mg/L'),
  ];
  it('the demo pond with TP 0.15 is V as a lake, III as a river', () => {
    expect(stationWaterClass(pond, 'lake')?.className).toBe('V');
    expect(stationWaterClass(pond, 'reservoir')?.className).toBe('V');
    expect(stationWaterClass(pond, 'river')?.className).toBe('III');
    expect(stationWaterClass(pond, null)?.className).toBe('III');
  });
  it('TN of a lake is reported apart, and the class says what it rests on', () => {
    const r = stationWaterClass([...pond, l('tn', 1.8, 'mg/L')], 'lake');
    expect(r?.className).toBe('V');
    expect(r?.decidedBy).toEqual(['TP']);
    expect(r?.tn?.class).toBe(5);
    expect(r?.label).toMatch(/partial/);
  });
  it('leaves out readings the device did not mark good', () => {
    expect(
      stationWaterClass([l('tp', 0.5, 'mg/L', 'suspect'), l('tp', 0.05, 'mg/L')], 'river')?.className,
    ).toBe('II');
  });
});

describe('station AQI takes only good readings in the breakpoint units', () => {
  it('CO sent in µg/m³ is left out rather than read as mg/m³', () => {
    const r = stationAqi([l('co', 800, 'µg/m³'), l('pm2_5', 30, 'µg/m³')]);
    expect(r?.aqi).toBe(43); // PM2.5 30: 50/35 × 30 = 42.9 → 43, not CO 800 mg/m³ → 500
  });
  it('leaves out suspect readings', () => {
    expect(stationAqi([l('pm2_5', 300, 'µg/m³', 'suspect'), l('pm10', 40, 'ug/m3')])?.aqi).toBe(40);
  });
});

describe('station AQI staleness', () => {
  it('is stale when its newest input is more than two hours old', () => {
    const latest = [l('pm2_5', 30, 'µg/m³')];
    expect(stationAqi(latest, T + AQI_STALE_AFTER_MS)).toMatchObject({ aqi: 43, asOf: T, stale: false });
    expect(stationAqi(latest, T + AQI_STALE_AFTER_MS + 1)?.stale).toBe(true);
  });
  it('does not combine a value more than two hours older than the newest', () => {
    const latest = [l('pm2_5', 30, 'µg/m³'), l('no2', 1000, 'µg/m³', 'good', T - AQI_STALE_AFTER_MS - 1)];
    expect(stationAqi(latest, T)?.aqi).toBe(43); // NO2 1h 1000 would give 180
  });
});
