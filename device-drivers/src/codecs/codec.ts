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
