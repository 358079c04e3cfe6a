// One recording driver context and wait helper for every Modbus test: the driver's own tests own it.
export {
  type RecordingContext,
  latest,
  recordingContext,
  waitFor,
} from '../../device-drivers/test/modbus-helpers.js';
