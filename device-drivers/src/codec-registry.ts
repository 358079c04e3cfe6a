import path from 'node:path';
import type { DeviceEvent, Reading } from '@village/protocol';
import { CodecProfileError, loadCodecProfile } from './codecs/codec-profile.js';
import type {
  CodecTransport,
  DecodeResult,
  DeviceCodec,
  DownlinkInput,
  DownlinkResult,
  PayloadCodec,
  UplinkInput,
} from './codecs/codec.js';
import { LORAWAN_CODECS, type LorawanCodecName } from './codecs/index.js';
import type { DriverConfigIssue } from './driver.js';
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

/** How a configured LoRaWAN or NB-IoT device names its codec: a built-in name or a profile file. */
export interface DeviceCodecRef {
  id: string;
  codec?: string | undefined;
  /** A codec profile (codecs/codec-profile.ts), relative to the edge config's folder. */
  codecProfile?: string | undefined;
}

/** One device's codec as a driver uses it, built-in or JavaScript alike. */
export interface ResolvedCodec {
  /** The built-in codec's or the profile's name (the inventory kind is `<transport>-<name>`). */
  name: string;
  metrics: { name: string; unit: string }[];
  decodeUplink(input: UplinkInput): DecodeResult;
  encodeDownlink(input: DownlinkInput): DownlinkResult;
  /** `active` holds the alarm states seen last time for this device; the codec updates it. */
  toTelemetry(
    data: unknown,
    device: string,
    ts: number,
    active: Set<string>,
  ): { readings: Reading[]; events: DeviceEvent[] };
  /** Frees a JavaScript codec's sandbox (it is rebuilt if called again); nothing for a built-in. */
  dispose(): void;
}

/**
 * The codec a device config names. A profile is read and its JavaScript compiled here, at the
 * driver's creation: a new codec is a new file, not a new build. Throws CodecProfileError.
 */
export function resolveDeviceCodec(
  transport: CodecTransport,
  ref: DeviceCodecRef,
  configDir: string,
): ResolvedCodec {
  if (ref.codecProfile !== undefined) {
    const profile = loadCodecProfile(path.resolve(configDir, ref.codecProfile));
    if (profile.spec.transport !== transport) {
      throw new CodecProfileError(
        profile.file,
        'transport',
        `is ${profile.spec.transport}, but device ${ref.id} is on a ${transport} driver`,
      );
    }
    return {
      name: profile.spec.name,
      metrics: profile.spec.metrics.map((m) => ({ name: m.name, unit: m.unit })),
      decodeUplink: (input) => profile.codec.decodeUplink(input),
      encodeDownlink: (input) => profile.codec.encodeDownlink(input),
      toTelemetry: profile.toTelemetry,
      dispose: () => profile.codec.dispose(),
    };
  }
  if (transport === 'lorawan' && ref.codec !== undefined && ref.codec in LORAWAN_CODECS) {
    const payload = LORAWAN_CODECS[ref.codec as LorawanCodecName] as PayloadCodec<unknown>;
    const codec = lorawanDeviceCodec(payload);
    return {
      name: payload.name,
      metrics: payload.metrics.map((m) => ({ name: m.name, unit: m.unit })),
      decodeUplink: codec.decodeUplink,
      encodeDownlink: codec.encodeDownlink,
      toTelemetry: (data, device, ts) => payload.toTelemetry(data, device, ts),
      dispose: () => {},
    };
  }
  if (transport === 'nbiot' && ref.codec !== undefined && ref.codec in DEVICE_MODELS) {
    const model = DEVICE_MODELS[ref.codec as NbiotCodecName];
    return { name: ref.codec, ...model, dispose: () => {} };
  }
  throw new CodecProfileError(
    ref.id,
    'codec',
    `no built-in ${transport} codec ${JSON.stringify(ref.codec)}; name a JavaScript codec with codecProfile`,
    'unknown_codec',
  );
}

/**
 * For `DriverKind.check`: every device's codec profile loads and compiles, so `village-edge
 * --check` and a start refuse a bad file alike (exit 2, naming the file and the field).
 */
export function checkDeviceCodecs(
  transport: CodecTransport,
  devices: readonly DeviceCodecRef[],
  configDir: string,
): DriverConfigIssue[] {
  const issues: DriverConfigIssue[] = [];
  devices.forEach((d, i) => {
    try {
      resolveDeviceCodec(transport, d, configDir).dispose();
    } catch (err) {
      if (!(err instanceof CodecProfileError)) throw err;
      issues.push({
        path: ['devices', i, d.codecProfile !== undefined ? 'codecProfile' : 'codec'],
        message: err.message,
      });
    }
  });
  return issues;
}
