import type { DownlinkInput, DownlinkResult, UplinkInput, UplinkResult } from './nb-smoke-detector.js';

/**
 * NB-IoT elder-care wristband payload, big-endian, ChirpStack codec contract. Decodes to the
 * same model as the LoRaWAN wristband (heart_rate, spo2, steps, battery, worn, lat, lon; fall, sos).
 *
 *   0     flags: bit0 worn, bit1 fall detected, bit2 SOS pressed, bit3 position follows
 *   1     heart rate, uint8, bpm (0 = not measured)
 *   2     SpO2, uint8, % (0 = not measured)
 *   3..6  steps today, uint32
 *   7     battery, uint8, %
 *   8..15 (bit3 only) latitude, longitude: int32 each, 1e-6 degree (WGS-84)
 *
 * Downlinks: `locate` (0x20: report position now), `set_interval` (0x21, uint16 minutes).
 */
export interface WristbandData {
  worn: boolean;
  fall: boolean;
  sos: boolean;
  heart_rate?: number;
  spo2?: number;
  steps: number;
  battery: number;
  lat?: number;
  lon?: number;
}

export function decodeUplink(input: UplinkInput): UplinkResult<WristbandData> {
  const b = input.bytes;
  if (b.length < 8)
    return { errors: [`wristband payload must be at least 8 bytes, got ${b.length}`], warnings: [] };
  const flags = b[0]!;
  const hasPos = (flags & 8) !== 0;
  const want = hasPos ? 16 : 8;
  if (b.length !== want) {
    return {
      errors: [`wristband payload with flags 0x${flags.toString(16)} must be ${want} bytes, got ${b.length}`],
      warnings: [],
    };
  }
  const warnings: string[] = [];
  const data: WristbandData = {
    worn: (flags & 1) !== 0,
    fall: (flags & 2) !== 0,
    sos: (flags & 4) !== 0,
    steps: u32(b, 3),
    battery: Math.min(b[7]!, 100),
  };
  if (b[1]! > 0) data.heart_rate = b[1]!;
  if (b[2]! > 0) {
    if (b[2]! > 100) warnings.push(`spo2 ${b[2]}% above 100`);
    data.spo2 = Math.min(b[2]!, 100);
  }
  if (hasPos) {
    const lat = i32(b, 8) / 1e6;
    const lon = i32(b, 12) / 1e6;
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180)
      return { errors: [`position ${lat},${lon} out of range`], warnings };
    data.lat = lat;
    data.lon = lon;
  }
  return { data, errors: [], warnings };
}

/** Device side, for the simulators. */
export function encodeUplink(d: WristbandData): Uint8Array {
  const hasPos = d.lat !== undefined && d.lon !== undefined;
  const out = new Uint8Array(hasPos ? 16 : 8);
  const view = new DataView(out.buffer);
  out[0] = (d.worn ? 1 : 0) | (d.fall ? 2 : 0) | (d.sos ? 4 : 0) | (hasPos ? 8 : 0);
  out[1] = Math.max(0, Math.min(255, Math.round(d.heart_rate ?? 0)));
  out[2] = Math.max(0, Math.min(100, Math.round(d.spo2 ?? 0)));
  view.setUint32(3, Math.max(0, Math.round(d.steps)) >>> 0);
  out[7] = Math.max(0, Math.min(100, Math.round(d.battery)));
  if (hasPos) {
    view.setInt32(8, Math.round(d.lat! * 1e6));
    view.setInt32(12, Math.round(d.lon! * 1e6));
  }
  return out;
}

export function encodeDownlink(input: DownlinkInput): DownlinkResult {
  const { action, params = {} } = input.data;
  if (action === 'locate') return { bytes: [0x20], errors: [], warnings: [] };
  if (action === 'set_interval') {
    const m = params.minutes;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 0xffff) {
      return { errors: [`set_interval.minutes must be an integer 1..65535, got ${String(m)}`], warnings: [] };
    }
    return { bytes: [0x21, m >> 8, m & 0xff], errors: [], warnings: [] };
  }
  return { errors: [`wristband has no action ${JSON.stringify(action)}`], warnings: [] };
}

export function decodeDownlink(
  input: UplinkInput,
): UplinkResult<{ action: string; params: Record<string, number> }> {
  const b = input.bytes;
  if (b.length === 1 && b[0] === 0x20)
    return { data: { action: 'locate', params: {} }, errors: [], warnings: [] };
  if (b.length === 3 && b[0] === 0x21) {
    return {
      data: { action: 'set_interval', params: { minutes: (b[1]! << 8) | b[2]! } },
      errors: [],
      warnings: [],
    };
  }
  return { errors: ['unknown wristband downlink'], warnings: [] };
}

function u32(b: ArrayLike<number>, i: number): number {
  return ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
}

function i32(b: ArrayLike<number>, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}
