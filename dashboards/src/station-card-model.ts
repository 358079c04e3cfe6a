import type { Latest } from '@village/protocol/api';
import { type StationAqi, stationAqi, stationWaterClass } from './air-water-index.js';
import { type AppData, formatValue, latestOfStation } from './app-data.js';
import { deviceOffline } from './device-offline.js';

/** Metrics shown on a station card, when the station has them; at most CARD_VALUES of them. */
const CARD_METRICS = ['pm2_5', 'pm25', 'pm10', 'temperature', 'humidity', 'ph', 'dissolved_oxygen'];
const CARD_VALUES = 4;

/** The AQI badge: the HJ 633 level's colour and names, and whether its data is stale. */
export interface AqiBadge {
  aqi: number;
  level: number;
  color: string;
  nameZh: string;
  nameEn: string;
  stale: boolean;
  asOf: number;
}

export function aqiBadge(aqi: StationAqi | undefined): AqiBadge | null {
  if (aqi?.aqi == null || !aqi.level) return null;
  const { level, color, nameZh, nameEn } = aqi.level;
  return { aqi: aqi.aqi, level, color, nameZh, nameEn, stale: aqi.stale, asOf: aqi.asOf };
}

export interface CardValue {
  device: string;
  metric: string;
  /** What the card shows: the device's value with its unit. */
  text: string;
}

/** Everything a station card shows, as plain data, so a live reading can patch only what changed. */
export interface StationCardModel {
  station: string;
  name: string;
  aqi: AqiBadge | null;
  water: { class: number; className: string; label: string } | null;
  values: CardValue[];
  /** Several devices on the station: each value is labelled with its device. */
  manyDevices: boolean;
  devices: number;
  offline: number;
}

export function stationCardModel(data: AppData, station: string, now: number): StationCardModel {
  const place = data.places.find((p) => p.station === station);
  const latest = latestOfStation(data, station);
  const water = stationWaterClass(latest, place?.waterBody ?? null);
  const devices = data.devices.filter((d) => d.station === station);
  const shown: Latest[] = CARD_METRICS.flatMap((m) => latest.filter((l) => l.metric === m && l.device));
  return {
    station,
    name: place?.stationName ?? station,
    aqi: aqiBadge(stationAqi(latest, now)),
    water:
      water && water.class !== null
        ? { class: water.class, className: water.className ?? '', label: water.label ?? '' }
        : null,
    values: shown
      .slice(0, CARD_VALUES)
      .map((l) => ({ device: l.device, metric: l.metric, text: formatValue(l) })),
    manyDevices: devices.length > 1,
    devices: devices.length,
    offline: devices.filter((d) => deviceOffline(data.edges, d, now)).length,
  };
}

/** The parts of a card that differ between two models; a live reading usually changes one value. */
export type CardPart = 'name' | 'aqi' | 'water' | 'valueList' | 'devices' | `value:${string}|${string}`;

export function changedParts(before: StationCardModel, after: StationCardModel): CardPart[] {
  const parts: CardPart[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (before.name !== after.name) parts.push('name');
  if (!same(before.aqi, after.aqi)) parts.push('aqi');
  if (!same(before.water, after.water)) parts.push('water');
  const keys = (m: StationCardModel) => m.values.map((v) => `${v.device}|${v.metric}`).join(',');
  if (keys(before) !== keys(after) || before.manyDevices !== after.manyDevices) parts.push('valueList');
  else {
    after.values.forEach((v, i) => {
      if (before.values[i]!.text !== v.text) parts.push(`value:${v.device}|${v.metric}`);
    });
  }
  if (before.devices !== after.devices || before.offline !== after.offline) parts.push('devices');
  return parts;
}
