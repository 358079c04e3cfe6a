export {
  createRadioMedium,
  type RadioMedium,
  type Uplinkable,
  type DownlinkListener,
} from './radio-medium.js';
export { startGatewaySim, type GatewaySim, type GatewaySimOptions } from './gateway-sim.js';
export {
  createEndDevice,
  type EndDeviceSim,
  type EndDeviceConfig,
  type ReceivedDownlink,
  type SimActivation,
  type SimMacCommand,
} from './end-device-sim.js';
export {
  startLorawanSimulation,
  type LorawanSimulation,
  type LorawanSimulationOptions,
} from './lorawan-simulation.js';
