import type { RegistryFile } from '../registry-file.js';
import type { DeviceClaim, DeviceOwnerStore } from '../store/device-owner-store.js';
import type { DeviceOwners } from './device-ownership.js';

/**
 * This host's view of the device owners all hosts share (`store.kind: postgres`): every owner is
 * kept in memory once known, since an owner changes only when an admin changes the registry
 * (registry.yaml or the admin API: the shared registry document, whose every write sets the owners
 * it names in the same transaction), so the ingest's check is a map lookup, and only a device not
 * seen before costs a claim: one round trip for a whole group of batches.
 */
export interface SharedDeviceOwners extends DeviceOwners {
  /** Of `devices`, those whose owner this host does not know yet. */
  unknown(devices: Iterable<string>): string[];
  /** Claims the devices in the SharedStore (the first claim anywhere wins) and keeps their owners. */
  claim(claims: readonly DeviceClaim[]): Promise<void>;
  /**
   * The registry's devices as this host's copy now has them (after its own admin change, or a
   * newer version imported): each is its edge's at once; one the registry named before and no
   * longer is forgotten, so its next batch asks the store (its row went with the same write).
   */
  applyRegistry(devices: RegistryFile['devices']): void;
}

/**
 * Reads every owner into memory (one query, at start, after the shared registry's start wrote the
 * owners its document names: store/registry-replica.ts), then the registry's as this host has it.
 */
export async function openSharedDeviceOwners(
  store: DeviceOwnerStore,
  registryDevices: RegistryFile['devices'],
): Promise<SharedDeviceOwners> {
  const owners = await store.owners();
  /** The devices the registry named at the last applyRegistry. */
  let named = new Set<string>();
  /** One more at each applyRegistry: a claim answered across one may tell an owner from before it. */
  let generation = 0;
  const applyRegistry = (devices: RegistryFile['devices']) => {
    const now = new Set(devices.map((d) => d.id));
    for (const id of named) if (!now.has(id)) owners.delete(id);
    for (const d of devices) owners.set(d.id, d.edge);
    named = now;
    generation++;
  };
  applyRegistry(registryDevices);
  return {
    foreignDevices(edgeId, devices) {
      const foreign = new Map<string, string>();
      for (const id of devices) {
        const owner = owners.get(id);
        if (owner !== undefined && owner !== edgeId) foreign.set(id, owner);
      }
      return foreign;
    },
    unknown(devices) {
      const out: string[] = [];
      for (const id of devices) if (!owners.has(id)) out.push(id);
      return out;
    },
    async claim(claims) {
      if (claims.length === 0) return;
      // The registry changed while the claim was out (a move or removal imported meanwhile): its
      // answer may predate that change, so it is asked again (a claim is idempotent); a few times
      // at most, then the last answer is kept (the next change corrects it).
      for (let attempt = 1; ; attempt++) {
        const before = generation;
        const result = await store.claim(claims);
        if (before !== generation && attempt < 3) continue;
        for (const [device, edge] of result) owners.set(device, edge);
        return;
      }
    },
    applyRegistry,
  };
}
