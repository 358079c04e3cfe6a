export {
  createNbiotDevice,
  DownlinkAuthError,
  NBIOT_SIM_CODECS,
  type NbiotDevice,
  type NbiotDeviceOptions,
  type NbiotSimCodec,
  type NbiotSimData,
  type UplinkAnswer,
} from './nbiot-device.js';
export { createWaterMeter, type WaterMeter, type WaterMeterOptions } from './water-meter-device.js';
