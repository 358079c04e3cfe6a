import { api } from './api-client.js';
import type { Device, EdgeHealth, Latest, Place } from './api-types.js';

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
    api<{ places: Place[] }>('/places'),
    api<{ devices: Device[] }>('/devices'),
    // /edges: what /health says plus each edge's state report (outbox backlog, disk) and alerts.
    api<{ edges: EdgeHealth[] }>('/edges'),
    api<{ latest: Latest[] }>('/latest'),
  ]);
  return {
    places: places.places,
    devices: devices.devices,
    edges: health.edges,
    latest: new Map(latest.latest.map((l) => [`${l.device}|${l.metric}`, l])),
  };
}

export const latestOfStation = (data: AppData, station: string): Latest[] =>
  [...data.latest.values()].filter((l) => l.station === station);

export const villageName = (data: AppData, village: string | null): string =>
  data.places.find((p) => p.village === village)?.villageName ?? village ?? '—';

export const stationName = (data: AppData, station: string | null): string =>
  data.places.find((p) => p.station === station)?.stationName ?? station ?? '—';

/** A device counts as offline when its edge is offline or it has been silent this long, ms. */
export const DEVICE_SILENT_MS = 10 * 60_000;

export function deviceOffline(data: AppData, d: Device, now = Date.now()): boolean {
  const edge = data.edges.find((e) => e.id === d.edge);
  if (edge && !edge.online) return true;
  return d.lastSeen === null || now - d.lastSeen > DEVICE_SILENT_MS;
}

export function formatValue(l: Latest | undefined): string {
  if (!l) return '—';
  const v = typeof l.value === 'number' ? String(Math.round(l.value * 100) / 100) : String(l.value);
  return l.unit ? `${v} ${l.unit}` : v;
}
