import { type DriverKind, fakeDriverKind } from '@village/device-drivers';
import { cameraDriverKind } from '@village/device-drivers/camera';
import { lorawanDriverKind } from '@village/device-drivers/lorawan';
import { modbusDriverKind } from '@village/device-drivers/modbus';
import { nbiotDriverKind } from '@village/device-drivers/nbiot';

/** The driver kinds this edge build knows, by the `kind:` used in edge.yaml. */
export const driverKinds: ReadonlyMap<string, DriverKind> = new Map<string, DriverKind>(
  [fakeDriverKind, modbusDriverKind, lorawanDriverKind, nbiotDriverKind, cameraDriverKind].map((k) => [
    k.kind,
    k as unknown as DriverKind,
  ]),
);
