import { type DriverKind, fakeDriverKind } from '@village/device-drivers';

/** The driver kinds this edge build knows, by the `kind:` used in edge.yaml. */
export const driverKinds: ReadonlyMap<string, DriverKind> = new Map<string, DriverKind>(
  [fakeDriverKind as DriverKind].map((k) => [k.kind, k]),
);
