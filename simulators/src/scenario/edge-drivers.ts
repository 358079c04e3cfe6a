import { cameraIdentity, lorawanIdentity, nbiotIdentity } from './device-identities.js';
import type { Scenario } from './scenario-schema.js';

/** Where a station's edge listens (LoRaWAN, NB-IoT, camera) and where its Modbus gateway is (the simulator). */
export interface StationPorts {
  host: string;
  lorawan?: number;
  nbiot?: number;
  camera?: number;
  modbus?: number;
}

export interface EdgeDriverOptions {
  /** How often the edge polls each Modbus device, wall-clock ms. */
  modbusPollMs?: number;
  /** Silence after which a camera is reported offline, wall-clock ms. */
  cameraHeartbeatTimeoutMs?: number;
}

/**
 * The `drivers:` list of edge.yaml for one station of a scenario: the real drivers (modbus,
 * lorawan, nbiot, camera) pointed at the simulators, with the keys the simulated devices use.
 * Only protocols the station has devices for get a driver.
 */
export function edgeDriversFor(
  scenario: Scenario,
  stationId: string,
  ports: StationPorts,
  options: EdgeDriverOptions = {},
): Record<string, unknown>[] {
  const st = scenario.stations.find((s) => s.id === stationId);
  if (!st) throw new RangeError(`scenario ${scenario.name} has no station ${stationId}`);
  const need = (port: number | undefined, what: string) => {
    if (port === undefined)
      throw new RangeError(`station ${stationId} has ${what} devices but no ${what} port`);
    return port;
  };
  const drivers: Record<string, unknown>[] = [];
  const people = scenario.people.filter((p) => p.station === st.id);
  if (st.modbus.length > 0) {
    drivers.push({
      kind: 'modbus',
      id: 'modbus',
      transport: { type: 'tcp', host: ports.host, port: need(ports.modbus, 'modbus') },
      timeoutMs: 1000,
      retries: 1,
      devices: st.modbus.map((d) => ({
        id: d.id,
        unitId: d.unitId,
        profile: d.profile,
        intervalMs: options.modbusPollMs ?? 1000,
      })),
    });
  }
  const loraBands = people.filter((p) => p.wristband.network === 'lorawan');
  if (st.lorawan) {
    const abp = (id: string, codec: string) => {
      const k = lorawanIdentity(scenario, id);
      return {
        id,
        codec,
        activation: 'abp',
        devEui: k.devEui,
        devAddr: k.devAddr,
        nwkSKey: k.nwkSKey,
        appSKey: k.appSKey,
      };
    };
    drivers.push({
      kind: 'lorawan',
      id: 'lorawan',
      port: need(ports.lorawan, 'lorawan'),
      bind: ports.host,
      gateways: st.lorawan.gateways.map((eui) => ({ eui })),
      region: 'CN470',
      devices: [
        ...st.lorawan.devices.map((d) => abp(d.id, d.codec)),
        ...loraBands.map((p) => abp(p.wristband.id, 'wristband')),
      ],
    });
  }
  const nbBands = people.filter((p) => p.wristband.network === 'nbiot');
  if (st.nbiot.length + nbBands.length > 0) {
    const dev = (id: string, codec: string) => ({ id, codec, ...nbiotIdentity(scenario, id) });
    drivers.push({
      kind: 'nbiot',
      id: 'nbiot',
      port: need(ports.nbiot, 'nbiot'),
      bind: ports.host,
      devices: [
        ...st.nbiot.map((d) => dev(d.id, d.codec)),
        ...nbBands.map((p) => dev(p.wristband.id, 'wristband')),
      ],
    });
  }
  if (st.cameras.length > 0) {
    drivers.push({
      kind: 'camera',
      id: 'camera',
      http: { port: need(ports.camera, 'camera'), bind: ports.host },
      // An intrusion at night at a village gate is what the officers want woken for.
      intrusionSeverity: 'critical',
      cameras: st.cameras.map((c) => {
        const k = cameraIdentity(scenario, c.id);
        return {
          id: c.id,
          auth: { type: 'basic', username: k.username, password: k.password },
          heartbeatTimeoutMs: options.cameraHeartbeatTimeoutMs ?? 120_000,
        };
      }),
    });
  }
  return drivers;
}
