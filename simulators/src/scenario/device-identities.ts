import type { Scenario } from './scenario-schema.js';
import { seededRandom } from './seeded-random.js';

/**
 * Keys and addresses of every simulated device, derived from the scenario seed and the device
 * id, so a scenario file stays short, the edge config and the traffic agree, and the same seed
 * gives the same bytes (LoRaWAN MICs and NB-IoT MACs depend on these keys).
 */
export interface LorawanIdentity {
  devEui: string;
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}
export interface NbiotIdentity {
  imei: string;
  key: string;
}
export interface CameraIdentity {
  username: string;
  password: string;
}

export function lorawanIdentity(scenario: Scenario, deviceId: string): LorawanIdentity {
  const r = seededRandom(scenario.seed, `lorawan-keys/${deviceId}`);
  // DevAddr with NwkID 0 (the driver's default NetID 000000), as an ABP device of that network has.
  const devAddr = `01${r.hex(3)}`;
  return { devEui: `70b3d5${r.hex(5)}`, devAddr, nwkSKey: r.hex(16), appSKey: r.hex(16) };
}

export function nbiotIdentity(scenario: Scenario, deviceId: string): NbiotIdentity {
  const r = seededRandom(scenario.seed, `nbiot-keys/${deviceId}`);
  // An IMEI is 15 digits; "86" is the reporting-body prefix of Chinese-made modules.
  const imei = `86${Array.from({ length: 13 }, () => r.int(10)).join('')}`;
  return { imei, key: r.hex(16) };
}

export function cameraIdentity(scenario: Scenario, cameraId: string): CameraIdentity {
  const r = seededRandom(scenario.seed, `camera-keys/${cameraId}`);
  return { username: 'admin', password: r.hex(12) };
}
