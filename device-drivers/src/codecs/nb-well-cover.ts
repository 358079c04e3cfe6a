import type { DownlinkInput, DownlinkResult, UplinkInput, UplinkResult } from './nb-smoke-detector.js';

/**
 * NB-IoT manhole (well) cover sensor payload (6 bytes, big-endian), ChirpStack codec contract.
 *
 *   0     flags: bit0 cover open (lid displaced), bit1 water-level alarm
 *   1..2  tilt from horizontal, int16, 0.1 degree
 *   3..4  water level below the lid, uint16, cm (0xFFFF = no probe fitted)
 *   5     battery, uint8, %
 *
 * Downlink: `set_tilt_threshold` (0x10, uint8 degrees at which the device reports the cover open).
 */
export interface WellCoverData {
  open: boolean;
  water_alarm: boolean;
  tilt_deg: number;
  water_level_cm?: number;
  battery: number;
}

const LENGTH = 6;
const NO_PROBE = 0xffff;

export function decodeUplink(input: UplinkInput): UplinkResult<WellCoverData> {
  const b = input.bytes;
  if (b.length !== LENGTH)
    return { errors: [`well cover payload must be ${LENGTH} bytes, got ${b.length}`], warnings: [] };
  const warnings: string[] = [];
  const rawTilt = (b[1]! << 8) | b[2]!;
  const tilt = (rawTilt >= 0x8000 ? rawTilt - 0x10000 : rawTilt) / 10;
  if (Math.abs(tilt) > 180) warnings.push(`tilt ${tilt}° outside ±180`);
  const level = (b[3]! << 8) | b[4]!;
  const data: WellCoverData = {
    open: (b[0]! & 1) !== 0,
    water_alarm: (b[0]! & 2) !== 0,
    tilt_deg: tilt,
    battery: Math.min(b[5]!, 100),
  };
  if (level !== NO_PROBE) data.water_level_cm = level;
  return { data, errors: [], warnings };
}

/** Device side, for the simulators. */
export function encodeUplink(d: WellCoverData): Uint8Array {
  const tilt = Math.round(d.tilt_deg * 10);
  const level =
    d.water_level_cm === undefined ? NO_PROBE : Math.max(0, Math.min(0xfffe, Math.round(d.water_level_cm)));
  return Uint8Array.from([
    (d.open ? 1 : 0) | (d.water_alarm ? 2 : 0),
    (tilt >> 8) & 0xff,
    tilt & 0xff,
    (level >> 8) & 0xff,
    level & 0xff,
    Math.max(0, Math.min(100, Math.round(d.battery))),
  ]);
}

export function encodeDownlink(input: DownlinkInput): DownlinkResult {
  const { action, params = {} } = input.data;
  if (action !== 'set_tilt_threshold') {
    return { errors: [`well cover has no action ${JSON.stringify(action)}`], warnings: [] };
  }
  const deg = params.degrees;
  if (typeof deg !== 'number' || !Number.isInteger(deg) || deg < 1 || deg > 90) {
    return {
      errors: [`set_tilt_threshold.degrees must be an integer 1..90, got ${String(deg)}`],
      warnings: [],
    };
  }
  return { bytes: [0x10, deg], errors: [], warnings: [] };
}

export function decodeDownlink(
  input: UplinkInput,
): UplinkResult<{ action: string; params: Record<string, number> }> {
  const b = input.bytes;
  if (b.length === 2 && b[0] === 0x10) {
    return { data: { action: 'set_tilt_threshold', params: { degrees: b[1]! } }, errors: [], warnings: [] };
  }
  return { errors: ['unknown well cover downlink'], warnings: [] };
}
