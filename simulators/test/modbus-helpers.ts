// One recording driver context for every Modbus test: the driver's own tests own it (waitFor is in @village/test-kit).
export {
  type RecordingContext,
  latest,
  recordingContext,
} from '../../device-drivers/test/modbus-helpers.js';
