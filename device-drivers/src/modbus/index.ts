export { modbusDriverKind, createModbusDriver } from './modbus-driver.js';
export {
  modbusConfigSchema,
  type ModbusConfig,
  type ModbusDeviceConfig,
  type ModbusTransportConfig,
} from './modbus-config.js';
export {
  ModbusCommandError,
  ProfileError,
  EXCEPTION_NAMES,
  exceptionName,
  type CommandErrorCode,
} from './modbus-errors.js';
export {
  profileSchema,
  pointSchema,
  isBitTable,
  TABLES,
  type Profile,
  type ProfilePoint,
  type Table,
} from './profile-schema.js';
export {
  loadDeviceProfile,
  loadProfileFile,
  parseProfile,
  shippedProfilePath,
  SHIPPED_PROFILES_DIR,
} from './profile-load.js';
export { planReads, type PlanLimits, type ReadRequest } from './poll-plan.js';
export {
  BYTE_ORDERS,
  DATA_TYPES,
  decodeRaw,
  encodeRaw,
  shortestFloat32,
  toPhysical,
  toRaw,
  wordCount,
  type ByteOrder,
  type DataType,
} from './register-codec.js';
