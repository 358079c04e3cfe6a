import type { RegistryStore } from '../store/registry-store.js';

/** Measurement of a device whose kind the registry does not know (yet). */
export const UNKNOWN_KIND = 'unknown';

/**
 * Device id → kind (the InfluxDB measurement), from the registry (registry.yaml and births).
 * The kinds are read again when a device is missing or of unknown kind, at most every
 * `refreshMs` (a birth may have taught another worker the kind meanwhile). That read is the
 * devices of known kind alone: it used to be the API's full device list (a join of five tables,
 * every row's metrics parsed, and a last-seen flush), which with a fleet of devices of unknown
 * kind was 5 % of the cloud's CPU at 2,000 small batches/s into InfluxDB. Asking each unknown
 * device alone instead cost more still (one query per device every `refreshMs`).
 */
export function deviceKinds(
  registry: Pick<RegistryStore, 'knownKinds'>,
  refreshMs = 2_000,
  now: () => number = Date.now,
): (device: string) => string {
  let kinds = new Map<string, string>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  return (device) => {
    let kind = kinds.get(device);
    if (kind === undefined && now() - loadedAt >= refreshMs) {
      kinds = registry.knownKinds();
      loadedAt = now();
      kind = kinds.get(device);
    }
    return kind ?? UNKNOWN_KIND;
  };
}
