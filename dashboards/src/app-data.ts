import {
  type Device,
  type EdgeHealth,
  type Latest,
  type Place,
  devicesResponseSchema,
  edgesResponseSchema,
  latestResponseSchema,
  placesResponseSchema,
} from '@village/protocol/api';
import { api } from './api-client.js';

/**
 * What most views show: places, devices, edges and the latest value of every series the officer
 * may see (the API already filters all of it by the session's scope). Live readings update
 * `latest` in place.
 */
export interface AppData {
  places: Place[];
  devices: Device[];
  edges: EdgeHealth[];
  /** `device|metric` → latest value. */
  latest: Map<string, Latest>;
}

export async function loadAppData(): Promise<AppData> {
  const [places, devices, health, latest] = await Promise.all([
    api('/places', placesResponseSchema),
    api('/devices', devicesResponseSchema),
    // /edges: what /health says plus each edge's state report (outbox backlog, disk) and alerts.
    api('/edges', edgesResponseSchema),
    api('/latest', latestResponseSchema),
  ]);
  return {
    places: places.places,
    devices: devices.devices,
    edges: health.edges,
    latest: new Map(latest.latest.map((l) => [`${l.device}|${l.metric}`, l])),
  };
}

export const latestOfStation = (data: Pick<AppData, 'latest'>, station: string): Latest[] =>
  [...data.latest.values()].filter((l) => l.station === station);

export const villageName = (data: AppData, village: string | null): string =>
  data.places.find((p) => p.village === village)?.villageName ?? village ?? '—';

export const stationName = (data: AppData, station: string | null): string =>
  data.places.find((p) => p.station === station)?.stationName ?? station ?? '—';

export function formatValue(l: Latest | undefined): string {
  if (!l) return '—';
  const v = typeof l.value === 'number' ? String(Math.round(l.value * 100) / 100) : String(l.value);
  return l.unit ? `${v} ${l.unit}` : v;
}
