export {
  createLorawanDriver,
  lorawanDriverKind,
  MAX_DOWNLINK_PAYLOAD,
  type LorawanDriver,
  type LorawanDriverHooks,
  type LorawanStatus,
  type UplinkRecord,
} from './lorawan-driver.js';
export {
  lorawanConfigSchema,
  type LorawanConfig,
  type LorawanConfigInput,
  type LorawanDeviceConfig,
} from './config.js';
export { LorawanError, type LorawanErrorCode } from './errors.js';
export { REGIONS, type Region, type RegionName } from './region.js';
export { RX_DELAYS_S } from './rx-window.js';
export { fullFCnt } from './frame-counter.js';
export { SESSION_DB_FILE } from './session-store.js';
