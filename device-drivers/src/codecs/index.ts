import { cayenneLppCodec } from './cayenne-lpp.js';
import { loraPm25Codec } from './lora-pm25.js';
import { wristbandCodec } from './wristband.js';

export * from './codec.js';
export * from './wristband-model.js';
export { wristbandCodec, WRISTBAND_FPORT, WRISTBAND_VERSION } from './wristband.js';
export { cayenneLppCodec, type CayenneData } from './cayenne-lpp.js';
export { loraPm25Codec, PM25_FPORT, type Pm25Data } from './lora-pm25.js';

/** LoRaWAN payload codecs by the name a device config uses. */
export const LORAWAN_CODECS = {
  cayenne: cayenneLppCodec,
  wristband: wristbandCodec,
  'lora-pm25': loraPm25Codec,
} as const;

export type LorawanCodecName = keyof typeof LORAWAN_CODECS;

// NB-IoT codecs (owned by the NB-IoT driver); namespaced because they share function names.
export * as nbWristband from './nb-wristband.js';
export * as nbSmokeDetector from './nb-smoke-detector.js';
export * as nbWellCover from './nb-well-cover.js';
export * as nbWaterMeter from './nb-water-meter.js';
