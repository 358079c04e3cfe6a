import type { DeviceEvent, Reading } from '@village/protocol';

/**
 * The payload-codec contract, after ChirpStack's JavaScript codec functions:
 * `decodeUplink({ bytes, fPort }) → { data, errors, warnings }`. Codecs are pure (no I/O, no
 * clock), so the driver and the simulators share them and tests need no network.
 * A result with errors carries no usable data: callers check `errors.length` first.
 */
export interface UplinkInput {
  bytes: Uint8Array;
  fPort: number;
}

export interface DecodeUplinkResult<D> {
  data: D;
  errors: string[];
  warnings: string[];
}

/** Inverse of decodeUplink, for the simulators: which bytes a device would send for `data`. */
export interface EncodeUplinkResult {
  bytes: Uint8Array;
  fPort: number;
  errors: string[];
  warnings: string[];
}

export interface PayloadCodec<D> {
  /** Name used in device configs (`codec: wristband`). */
  readonly name: string;
  /** Metrics this codec can produce, for the edge's device inventory. */
  readonly metrics: readonly { name: string; unit: string }[];
  decodeUplink(input: UplinkInput): DecodeUplinkResult<D>;
  encodeUplink(input: { data: D }): EncodeUplinkResult;
  /** Maps decoded data to what the edge stores: readings and, where the device raises alarms, events. */
  toTelemetry(data: D, device: string, ts: number): { readings: Reading[]; events: DeviceEvent[] };
}

/**
 * The one codec contract every transport's codecs meet (LoRaWAN and NB-IoT alike), after
 * ChirpStack / The Things Network: `decodeUplink({ bytes, fPort }) → { data, errors, warnings }`
 * and `encodeDownlink({ data: { action, params } }) → { bytes, errors, warnings }`. A codec never
 * throws: bad input comes back as `errors` (and then `data` means nothing). The conformance kit
 * (`@village/device-drivers/testing`) checks a codec against this contract and its examples.
 */
export type CodecTransport = 'lorawan' | 'nbiot';

export interface DecodeResult {
  data?: unknown;
  errors: string[];
  warnings: string[];
}

export interface DownlinkInput {
  data: { action: string; params?: Record<string, unknown> };
}

export interface DownlinkResult {
  bytes?: number[];
  /** LoRaWAN only: the FPort to send on (NB-IoT has none). */
  fPort?: number;
  errors: string[];
  warnings: string[];
}

export interface DeviceCodec {
  readonly transport: CodecTransport;
  /** Name used in device configs (`codec: wristband`); unique per transport. */
  readonly name: string;
  decodeUplink(input: UplinkInput): DecodeResult;
  encodeDownlink(input: DownlinkInput): DownlinkResult;
}
