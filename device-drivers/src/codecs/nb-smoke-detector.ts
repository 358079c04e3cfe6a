import type { DownlinkInput, DownlinkResult } from './codec.js';

/**
 * NB-IoT smoke detector payload (6 bytes, big-endian), ChirpStack codec contract.
 *
 *   0     flags: bit0 alarm, bit1 self-test running, bit2 sensor fault
 *   1..2  smoke density, uint16, 0.01 dB/m
 *   3..4  temperature, int16, 0.1 °C
 *   5     battery, uint8, %
 *
 * Downlinks: `silence` (0x01: mute the sounder for `minutes`, uint8) and `self_test` (0x02).
 */
export interface SmokeDetectorData {
  alarm: boolean;
  self_test: boolean;
  fault: boolean;
  smoke_density: number;
  temperature: number;
  battery: number;
}

/** NB-IoT codecs take what the codec contract hands (codec.ts); they read only `bytes[i]`. */
export interface UplinkInput {
  bytes: ArrayLike<number>;
  fPort: number;
}

export interface UplinkResult<T> {
  data?: T;
  errors: string[];
  warnings: string[];
}

export type { DownlinkInput, DownlinkResult } from './codec.js';

const LENGTH = 6;

export function decodeUplink(input: UplinkInput): UplinkResult<SmokeDetectorData> {
  const b = input.bytes;
  if (b.length !== LENGTH)
    return { errors: [`smoke detector payload must be ${LENGTH} bytes, got ${b.length}`], warnings: [] };
  const flags = b[0]!;
  const warnings: string[] = [];
  if ((flags & 0xf8) !== 0) warnings.push(`reserved flag bits set: 0x${flags.toString(16)}`);
  const raw = (b[3]! << 8) | b[4]!;
  const battery = b[5]!;
  if (battery > 100) warnings.push(`battery ${battery}% above 100`);
  return {
    data: {
      alarm: (flags & 1) !== 0,
      self_test: (flags & 2) !== 0,
      fault: (flags & 4) !== 0,
      smoke_density: ((b[1]! << 8) | b[2]!) / 100,
      temperature: (raw >= 0x8000 ? raw - 0x10000 : raw) / 10,
      battery: Math.min(battery, 100),
    },
    errors: [],
    warnings,
  };
}

/** Device side, for the simulators. */
export function encodeUplink(d: SmokeDetectorData): Uint8Array {
  const density = Math.round(d.smoke_density * 100);
  const temp = Math.round(d.temperature * 10);
  return Uint8Array.from([
    (d.alarm ? 1 : 0) | (d.self_test ? 2 : 0) | (d.fault ? 4 : 0),
    (density >> 8) & 0xff,
    density & 0xff,
    (temp >> 8) & 0xff,
    temp & 0xff,
    Math.max(0, Math.min(100, Math.round(d.battery))),
  ]);
}

export function encodeDownlink(input: DownlinkInput): DownlinkResult {
  const { action, params = {} } = input.data;
  if (action === 'self_test') return { bytes: [0x02], errors: [], warnings: [] };
  if (action === 'silence') {
    const minutes = params.minutes ?? 10;
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 255) {
      return { errors: [`silence.minutes must be an integer 1..255, got ${String(minutes)}`], warnings: [] };
    }
    return { bytes: [0x01, minutes], errors: [], warnings: [] };
  }
  return { errors: [`smoke detector has no action ${JSON.stringify(action)}`], warnings: [] };
}

export function decodeDownlink(
  input: UplinkInput,
): UplinkResult<{ action: string; params: Record<string, number> }> {
  const b = input.bytes;
  if (b.length === 1 && b[0] === 0x02)
    return { data: { action: 'self_test', params: {} }, errors: [], warnings: [] };
  if (b.length === 2 && b[0] === 0x01) {
    return { data: { action: 'silence', params: { minutes: b[1]! } }, errors: [], warnings: [] };
  }
  return { errors: ['unknown smoke detector downlink'], warnings: [] };
}
