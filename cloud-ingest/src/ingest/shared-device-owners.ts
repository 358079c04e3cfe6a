import type { RegistryFile } from '../registry-file.js';
import type { DeviceClaim, DeviceOwnerStore } from '../store/device-owner-store.js';
import type { DeviceOwners } from './device-ownership.js';

/**
 * This host's view of the device owners all hosts share (`store.kind: postgres`): every owner is
 * kept in memory once known, since an owner changes only when an admin edits registry.yaml (and
 * each host imports it at its start), so the ingest's check is a map lookup, and only a device
 * not seen before costs a claim: one round trip for a whole group of batches.
 */
export interface SharedDeviceOwners extends DeviceOwners {
  /** Of `devices`, those whose owner this host does not know yet. */
  unknown(devices: Iterable<string>): string[];
  /** Claims the devices in the SharedStore (the first claim anywhere wins) and keeps their owners. */
  claim(claims: readonly DeviceClaim[]): Promise<void>;
}

/** Imports registry.yaml's owners, then reads every owner into memory (one query each, at start). */
export async function openSharedDeviceOwners(
  store: DeviceOwnerStore,
  file: RegistryFile['devices'],
  fileMoved: boolean,
): Promise<SharedDeviceOwners> {
  await store.importFileOwners(file, fileMoved);
  const owners = await store.owners();
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
      for (const [device, edge] of await store.claim(claims)) owners.set(device, edge);
    },
  };
}
