import type { Device, EdgeLink } from '@village/protocol/api';

/** A device counts as offline when its edge is offline or it has been silent this long, ms. */
export const DEVICE_SILENT_MS = 10 * 60_000;

export function deviceOffline(
  edges: readonly Pick<EdgeLink, 'id' | 'online'>[],
  d: Pick<Device, 'edge' | 'lastSeen'>,
  now: number,
): boolean {
  const edge = edges.find((e) => e.id === d.edge);
  if (edge && !edge.online) return true;
  return d.lastSeen === null || now - d.lastSeen > DEVICE_SILENT_MS;
}
