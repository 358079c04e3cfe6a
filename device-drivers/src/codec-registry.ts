import type { DeviceCodec, DownlinkResult, PayloadCodec } from './codecs/codec.js';
import { LORAWAN_CODECS, type LorawanCodecName } from './codecs/index.js';
import type { NbiotCodecName } from './nbiot/config.js';
import { DEVICE_MODELS } from './nbiot/device-models.js';

/**
 * Every shipped codec behind the one contract (codecs/codec.ts `DeviceCodec`), LoRaWAN and
 * NB-IoT. The conformance test walks this list and checks that every codec module in src/codecs
 * is on it with its `<module>.examples.yaml` beside it, so a new codec cannot ship untested.
 */
export interface ShippedCodec {
  codec: DeviceCodec;
  /** Base name of the codec's module in src/codecs; its examples are `<module>.examples.yaml`. */
  module: string;
}

/** A LoRaWAN PayloadCodec behind the contract. It has no downlink actions: LoRaWAN commands carry raw bytes. */
export function lorawanDeviceCodec(codec: PayloadCodec<unknown>): DeviceCodec {
  return {
    transport: 'lorawan',
    name: codec.name,
    decodeUplink: ({ bytes, fPort }) => codec.decodeUplink({ bytes: Uint8Array.from(bytes), fPort }),
    encodeDownlink: ({ data }): DownlinkResult => ({
      errors: [`${codec.name}: no downlink action ${JSON.stringify(data.action)}; send raw bytes`],
      warnings: [],
    }),
  };
}

/** An NB-IoT device model's codec half behind the contract (the model itself already meets it). */
export function nbiotDeviceCodec(name: NbiotCodecName): DeviceCodec {
  const model = DEVICE_MODELS[name];
  return {
    transport: 'nbiot',
    name,
    decodeUplink: (input) => model.decodeUplink(input),
    encodeDownlink: (input) => model.encodeDownlink(input),
  };
}

const LORAWAN_MODULES: Record<LorawanCodecName, string> = {
  cayenne: 'cayenne-lpp',
  wristband: 'wristband',
  'lora-pm25': 'lora-pm25',
};

const NBIOT_MODULES: Record<NbiotCodecName, string> = {
  'smoke-detector': 'nb-smoke-detector',
  'well-cover': 'nb-well-cover',
  wristband: 'nb-wristband',
  'water-meter': 'nb-water-meter',
};

export const SHIPPED_CODECS: readonly ShippedCodec[] = [
  ...Object.entries(LORAWAN_MODULES).map(([name, module]) => ({
    codec: lorawanDeviceCodec(LORAWAN_CODECS[name as LorawanCodecName] as PayloadCodec<unknown>),
    module,
  })),
  ...Object.entries(NBIOT_MODULES).map(([name, module]) => ({
    codec: nbiotDeviceCodec(name as NbiotCodecName),
    module,
  })),
];
