import type { Device, EdgeHealth, Latest, Place } from '@village/protocol/api';
import { describe, expect, it } from 'vitest';
import { stationAqi } from '../src/air-water-index.js';
import type { AppData } from '../src/app-data.js';
import { aqiBadge, changedParts, stationCardModel } from '../src/station-card-model.js';

const NOW = Date.parse('2026-06-01T08:00:00+08:00');
const reading = (metric: string, value: number, unit = 'µg/m³', ts = NOW - 60_000): Latest => ({
  device: 'a-1',
  metric,
  unit,
  ts,
  value,
  quality: 'good',
  station: 's1',
});
const place: Place = {
  county: 'c1',
  countyName: '示例县',
  town: 't1',
  townName: '示例镇',
  village: 'v1',
  villageName: '王村',
  station: 's1',
  stationName: '王村站',
  waterBody: null,
};
const device = (id: string, edge: string, lastSeen: number | null): Device => ({
  id,
  kind: 'air',
  driver: 'modbus',
  edge,
  station: 's1',
  village: 'v1',
  town: 't1',
  county: 'c1',
  metrics: [],
  lastSeen,
});
const edge = (id: string, online: boolean): EdgeHealth => ({
  id,
  online,
  boot: 1,
  lastSeen: NOW,
  village: 'v1',
  state: null,
  alerts: [],
});
const appData = (
  latest: Latest[],
  devices = [device('a-1', 'e1', NOW)],
  edges = [edge('e1', true)],
): AppData => ({
  places: [place],
  devices,
  edges,
  latest: new Map(latest.map((l) => [`${l.device}|${l.metric}`, l])),
});

describe('AQI colour of a station card (HJ 633 levels)', () => {
  const colour = (pm25: number) => aqiBadge(stationAqi([reading('pm2_5', pm25)], NOW));
  it('takes the level colour of the computed AQI', () => {
    expect(colour(30)).toMatchObject({ aqi: 43, level: 1, color: '#00E400', nameEn: 'Excellent' });
    expect(colour(60)).toMatchObject({ level: 2, color: '#FFFF00' });
    expect(colour(100)).toMatchObject({ level: 3, color: '#FF7E00' });
    expect(colour(140)).toMatchObject({ level: 4, color: '#FF0000' });
    expect(colour(200)).toMatchObject({ level: 5, color: '#99004C' });
    expect(colour(300)?.level).toBe(6);
  });
  it('no usable input gives no badge', () => {
    expect(aqiBadge(stationAqi([], NOW))).toBeNull();
    expect(aqiBadge(stationAqi([reading('pm2_5', 30, 'mg/m³')], NOW))).toBeNull();
  });
  it('marks the badge stale when its data is more than two hours old', () => {
    const old = aqiBadge(stationAqi([reading('pm2_5', 30, 'µg/m³', NOW - 2 * 3_600_000 - 1)], NOW));
    expect(old).toMatchObject({ color: '#00E400', stale: true });
  });
});

describe('station card model', () => {
  it('counts offline devices: silent, or behind an offline edge', () => {
    const data = appData(
      [reading('pm2_5', 30)],
      [device('a-1', 'e1', NOW), device('a-2', 'e1', NOW - 11 * 60_000), device('a-3', 'e2', NOW)],
      [edge('e1', true), edge('e2', false)],
    );
    expect(stationCardModel(data, 's1', NOW)).toMatchObject({ devices: 3, offline: 2, manyDevices: true });
  });
  it('shows the card metrics in their order, at most four', () => {
    const data = appData([
      reading('humidity', 40, '%'),
      reading('pm10', 50),
      reading('pm2_5', 30),
      reading('temperature', 21.456, '°C'),
      reading('ph', 7, 'pH'),
    ]);
    expect(stationCardModel(data, 's1', NOW).values).toEqual([
      { device: 'a-1', metric: 'pm2_5', text: '30 µg/m³' },
      { device: 'a-1', metric: 'pm10', text: '50 µg/m³' },
      { device: 'a-1', metric: 'temperature', text: '21.46 °C' },
      { device: 'a-1', metric: 'humidity', text: '40 %' },
    ]);
  });
});

describe('a live reading changes only the parts of the card it moves', () => {
  const before = stationCardModel(
    appData([reading('pm2_5', 30), reading('temperature', 20, '°C')]),
    's1',
    NOW,
  );
  it('a new temperature changes that value alone', () => {
    const after = stationCardModel(
      appData([reading('pm2_5', 30), reading('temperature', 21, '°C')]),
      's1',
      NOW,
    );
    expect(changedParts(before, after)).toEqual(['value:a-1|temperature']);
  });
  it('a PM2.5 that moves the AQI changes the value and the badge', () => {
    const after = stationCardModel(
      appData([reading('pm2_5', 31), reading('temperature', 20, '°C')]),
      's1',
      NOW,
    );
    expect(changedParts(before, after)).toEqual(['aqi', 'value:a-1|pm2_5']);
  });
  it('the same value again changes nothing', () => {
    const after = stationCardModel(
      appData([reading('pm2_5', 30), reading('temperature', 20, '°C')]),
      's1',
      NOW,
    );
    expect(changedParts(before, after)).toEqual([]);
  });
  it('a metric new to the card redraws the value list', () => {
    const after = stationCardModel(
      appData([reading('pm2_5', 30), reading('temperature', 20, '°C'), reading('pm10', 40)]),
      's1',
      NOW,
    );
    expect(changedParts(before, after)).toEqual(['valueList']); // PM10 40 is IAQI 40, under PM2.5's 43
  });
});
