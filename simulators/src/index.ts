export * from './lorawan/index.js';
export * from './nbiot/index.js';
export * from './camera/index.js';
export * from './modbus/index.js';
export * from './scenario/scenario-schema.js';
export { loadScenario, parseScenario, ScenarioError } from './scenario/scenario-load.js';
export { seededRandom, type SeededRandom } from './scenario/seeded-random.js';
export { planTraffic, type TrafficPlan } from './scenario/traffic-plan.js';
export { edgeDriversFor, type StationPorts, type EdgeDriverOptions } from './scenario/edge-drivers.js';
export { cameraIdentity, lorawanIdentity, nbiotIdentity } from './scenario/device-identities.js';
export { startUplinkRelay, type UplinkRelay } from './scenario/uplink-relay.js';
export * from './record/recording-format.js';
export { editFrames, parseShare, type EditOptions, type EditReport } from './record/recording-edit.js';
export {
  applySpanBytes,
  readSpanBytes,
  tableSpans,
  RegisterFrameError,
} from './record/modbus-register-frame.js';
export {
  playFrames,
  startModbusGateways,
  type PlayOptions,
  type PlaySummary,
  type StationEndpoints,
} from './replay/wire-player.js';
export { progressReporter, type ProgressReporter } from './replay/progress-reporter.js';
export { loadEndpoints, EndpointsError, type EndpointsFile } from './replay/endpoints-file.js';
export { loadGenScenario, READINGS_PER_WRISTBAND_UPLINK, type LoadOptions } from './load/load-scenario.js';
