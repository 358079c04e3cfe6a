import type { RegistryStore } from '../store/registry-store.js';

/** Measurement of a device whose kind the registry does not know (yet). */
export const UNKNOWN_KIND = 'unknown';

/**
 * Device id → kind (the InfluxDB measurement), from the registry (registry.yaml and births).
 * The registry is read again when a device is missing or of unknown kind, at most every
 * `refreshMs` (a birth may have taught another worker the kind meanwhile).
 */
export function deviceKinds(
  registry: RegistryStore,
  refreshMs = 2_000,
  now: () => number = Date.now,
): (device: string) => string {
  let kinds = new Map<string, string>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  return (device) => {
    let kind = kinds.get(device);
    if ((kind === undefined || kind === UNKNOWN_KIND) && now() - loadedAt >= refreshMs) {
      kinds = new Map(registry.devices().map((d) => [d.id, d.kind]));
      loadedAt = now();
      kind = kinds.get(device);
    }
    return kind || UNKNOWN_KIND;
  };
}
