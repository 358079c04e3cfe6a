import type { CompiledRules } from '@village/rules';
import type { PlaceTags } from '../sink/sink.js';

/**
 * Devices are learned from their edge's station, so a new sensor needs no rules config. The live
 * feed and the replay after a crash both call this, so a replayed event is judged as it would
 * have been live (learned devices live only in memory: after a restart the replay relearns them).
 */
export function learnDevices(
  rules: CompiledRules,
  place: PlaceTags,
  items: Iterable<{ device: string }>,
): void {
  const village = place.village;
  if (village === null) return;
  const where = place.station === null ? { village } : { village, station: place.station };
  for (const { device } of items)
    if (!rules.devices.has(device) && !rules.peopleByDevice.has(device)) rules.devices.set(device, where);
}
