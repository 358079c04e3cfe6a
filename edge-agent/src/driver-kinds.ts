import { type DriverKind, fakeDriverKind } from '@village/device-drivers';
import { parse } from 'yaml';
import type { z } from 'zod';

const loaders = new Map<string, () => Promise<DriverKind>>();
const names: string[] = [];

/**
 * Adds a protocol to this edge build: its `kind:` name in edge.yaml and how to load its
 * DriverKind. The kind keeps its own config type (`DriverKind<typeof mySchema>`) and needs no
 * cast: the edge parses an entry with the kind's own schema before it calls `create`. Loading is
 * deferred until a config uses the kind: the protocol stacks together cost ~30 MB of RSS, and an
 * edge box running two of them should not pay for all five. A module whose kind is named
 * differently is refused, so a copy-paste slip cannot route one protocol's config to another.
 */
export function registerDriverKind<S extends z.ZodType>(
  name: string,
  load: () => Promise<DriverKind<S>>,
): void {
  if (loaders.has(name)) throw new Error(`driver kind "${name}" is registered twice`);
  names.push(name);
  loaders.set(name, async () => {
    const kind: DriverKind = await load();
    if (kind.kind !== name)
      throw new Error(`driver kind "${name}" loaded a module whose kind is "${kind.kind}"`);
    return kind;
  });
}

// The protocols of this build, one line each (docs/vendor-guide.md, "A new protocol").
registerDriverKind('fake', async () => fakeDriverKind);
registerDriverKind('modbus', async () => (await import('@village/device-drivers/modbus')).modbusDriverKind);
registerDriverKind(
  'lorawan',
  async () => (await import('@village/device-drivers/lorawan')).lorawanDriverKind,
);
registerDriverKind('nbiot', async () => (await import('@village/device-drivers/nbiot')).nbiotDriverKind);
registerDriverKind('camera', async () => (await import('@village/device-drivers/camera')).cameraDriverKind);

/** The registered kinds' names, for the config check's "known: ..." message. */
export const DRIVER_KIND_NAMES: readonly string[] = names;

/** Loads the named kinds; unknown names are left out (the config check reports them). */
export async function loadDriverKinds(names: Iterable<string>): Promise<Map<string, DriverKind>> {
  const kinds = new Map<string, DriverKind>();
  for (const name of new Set(names)) {
    const load = loaders.get(name);
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
