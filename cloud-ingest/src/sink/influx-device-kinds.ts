import type { RegistryStore } from '../store/registry-store.js';

/** Measurement of a device whose kind the registry does not know (yet). */
export const UNKNOWN_KIND = 'unknown';

/**
 * Device id → kind (the InfluxDB measurement), from the registry (registry.yaml and births).
 * A device missing or of unknown kind is asked again, itself alone, at most every `refreshMs` (a
 * birth may have taught another worker the kind meanwhile). It used to reload every device of the
 * registry instead: with a fleet of devices of unknown kind that was a full join of the devices
 * table, and a flush of last-seen, every 2 s (5 % of the cloud's CPU at 2,000 small batches/s).
 */
export function deviceKinds(
  registry: Pick<RegistryStore, 'kindOf'>,
  refreshMs = 2_000,
  now: () => number = Date.now,
): (device: string) => string {
  const kinds = new Map<string, { kind: string; askedAt: number }>();
  return (device) => {
    const known = kinds.get(device);
    if (known && (known.kind !== UNKNOWN_KIND || now() - known.askedAt < refreshMs)) return known.kind;
    const kind = registry.kindOf(device) || UNKNOWN_KIND;
    kinds.set(device, { kind, askedAt: now() });
    return kind;
  };
}
