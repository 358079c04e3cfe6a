export {
  nbiotDriverKind,
  createNbiotDriver,
  type NbiotDriver,
  UnknownDeviceError,
  CommandRejectedError,
  DeviceKeyError,
} from './nbiot-driver.js';
export { nbiotConfigSchema, NBIOT_CODECS, type NbiotConfig, type NbiotCodecName } from './config.js';
export { CommandTimeoutError, CommandQueueFullError, DeviceCommandError } from './command-queue.js';
export {
  EnvelopeError,
  MAC_BYTES,
  encodeUplink as encodeNbiotUplink,
  parseUplink as parseNbiotUplink,
} from './uplink-envelope.js';
export { MissingSecretError, resolveSecret } from './secret-ref.js';
