import type { LiveReading } from '@village/protocol/api';
import { type AppData, formatValue } from './app-data.js';
import { patchStationCard } from './views/overview-view.js';

/**
 * A live reading: keeps `data.latest` and the device's last contact current, then updates what is
 * on screen in place: the station's overview card (only its parts that changed) and any value
 * cell of that series. A reading older than the one held is ignored; backlog (`historical`) never
 * moves a device's last contact.
 */
export function applyLiveReading(root: ParentNode, data: AppData, r: LiveReading, now = Date.now()): void {
  const key = `${r.device}|${r.metric}`;
  const known = data.latest.get(key);
  if (known && known.ts > r.ts) return;
  data.latest.set(key, r);
  const device = data.devices.find((d) => d.id === r.device);
  if (device && !r.historical) device.lastSeen = Math.max(device.lastSeen ?? 0, r.ts);
  const card = root.querySelector<HTMLElement>(`.card[data-station="${CSS.escape(r.station ?? '')}"]`);
  if (card) patchStationCard(card, data, now);
  for (const cell of root.querySelectorAll(
    `.values [data-device="${CSS.escape(r.device)}"][data-metric="${CSS.escape(r.metric)}"]`,
  )) {
    cell.textContent = formatValue(r);
  }
}
