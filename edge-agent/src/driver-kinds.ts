import { type DriverKind, fakeDriverKind } from '@village/device-drivers';
import { parse } from 'yaml';

/**
 * The driver kinds this edge build knows, by the `kind:` used in edge.yaml. Each is imported only
 * when a config uses it: the protocol stacks together cost ~30 MB of RSS, and an edge box
 * running two of them should not pay for all five.
 */
const loaders: Record<string, () => Promise<DriverKind>> = {
  fake: async () => fakeDriverKind as DriverKind,
  modbus: async () =>
    (await import('@village/device-drivers/modbus')).modbusDriverKind as unknown as DriverKind,
  lorawan: async () =>
    (await import('@village/device-drivers/lorawan')).lorawanDriverKind as unknown as DriverKind,
  nbiot: async () => (await import('@village/device-drivers/nbiot')).nbiotDriverKind as unknown as DriverKind,
  camera: async () =>
    (await import('@village/device-drivers/camera')).cameraDriverKind as unknown as DriverKind,
};

export const DRIVER_KIND_NAMES: readonly string[] = Object.keys(loaders);

/** Loads the named kinds; unknown names are left out (the config check reports them). */
export async function loadDriverKinds(names: Iterable<string>): Promise<Map<string, DriverKind>> {
  const kinds = new Map<string, DriverKind>();
  for (const name of new Set(names)) {
    const load = loaders[name];
    if (load) kinds.set(name, await load());
  }
  return kinds;
}

/** The `kind:` values an edge config file asks for; [] when the file cannot be read (the config check says why). */
export function driverKindsIn(text: string): string[] {
  try {
    const drivers = (parse(text) as { drivers?: unknown })?.drivers;
    return Array.isArray(drivers)
      ? drivers.map((d) => (d as { kind?: unknown })?.kind).filter((k) => typeof k === 'string')
      : [];
  } catch {
    return [];
  }
}
