import type { DownlinkInput, DownlinkResult } from './codec.js';
import type { UplinkInput, UplinkResult } from './nb-smoke-detector.js';

/**
 * NB-IoT village water meter payload (10 bytes, big-endian), ChirpStack codec contract
 * (docs/nbiot-device-guide.md, "Water meter"). Shaped after the fields utility meters report
 * (cumulative register, instantaneous flow, valve, alarm bits), in a fixed binary layout so a
 * meter on a 2G-class NB-IoT budget sends one datagram:
 *
 *   0     format version, 1
 *   1     alarm flags: bit0 leak (flow never stopped for the device's leak window),
 *         bit1 reverse flow, bit2 tamper (magnet or opened case), bit3 low battery;
 *         bits 4-7 reserved (0)
 *   2     valve: 0 open, 1 closed, 2 moving, 3 fault (meters without a valve send 0xFF)
 *   3..6  cumulative forward volume, uint32, 0.001 m³ (1 litre); wraps after 4 294 967.295 m³
 *   7..8  flow rate, uint16, 0.001 m³/h (1 L/h); 0xFFFF = not measured
 *   9     battery, uint8, % (0..100)
 *
 * Downlinks: `valve_open` (0x30 0x01), `valve_close` (0x30 0x00), `set_interval` (0x31, uint16
 * minutes between reports).
 */
export const WATER_METER_VERSION = 1;
export const VALVE_STATES = ['open', 'closed', 'moving', 'fault'] as const;
export type ValveState = (typeof VALVE_STATES)[number];

export interface WaterMeterData {
  /** Cumulative forward volume, m³ with 0.001 resolution. */
  volume_m3: number;
  /** Instantaneous flow, m³/h; absent when the meter did not measure it. */
  flow_m3h?: number;
  /** Absent when the meter has no valve. */
  valve?: ValveState;
  battery: number;
  leak: boolean;
  reverse_flow: boolean;
  tamper: boolean;
  low_battery: boolean;
}

const LENGTH = 10;
const NO_VALVE = 0xff;
const NOT_MEASURED = 0xffff;

export function decodeUplink(input: UplinkInput): UplinkResult<WaterMeterData> {
  const b = input.bytes;
  if (b.length !== LENGTH)
    return { errors: [`water meter payload must be ${LENGTH} bytes, got ${b.length}`], warnings: [] };
  if (b[0] !== WATER_METER_VERSION)
    return {
      errors: [`water meter format version ${b[0]} unsupported, expected ${WATER_METER_VERSION}`],
      warnings: [],
    };
  const flags = b[1]!;
  const warnings: string[] = [];
  if ((flags & 0xf0) !== 0) warnings.push(`reserved alarm bits set: 0x${flags.toString(16)}`);
  const valveByte = b[2]!;
  if (valveByte !== NO_VALVE && valveByte >= VALVE_STATES.length)
    return { errors: [`valve state ${valveByte} unknown (0 open, 1 closed, 2 moving, 3 fault)`], warnings };
  const volume = ((b[3]! << 24) >>> 0) + (b[4]! << 16) + (b[5]! << 8) + b[6]!;
  const flow = (b[7]! << 8) | b[8]!;
  const battery = b[9]!;
  if (battery > 100) warnings.push(`battery ${battery}% above 100`);
  const data: WaterMeterData = {
    volume_m3: volume / 1000,
    battery: Math.min(battery, 100),
    leak: (flags & 1) !== 0,
    reverse_flow: (flags & 2) !== 0,
    tamper: (flags & 4) !== 0,
    low_battery: (flags & 8) !== 0,
  };
  if (flow !== NOT_MEASURED) data.flow_m3h = flow / 1000;
  if (valveByte !== NO_VALVE) data.valve = VALVE_STATES[valveByte];
  return { data, errors: [], warnings };
}

/** Device side, for the simulators. */
export function encodeUplink(d: WaterMeterData): Uint8Array {
  const out = new Uint8Array(LENGTH);
  const view = new DataView(out.buffer);
  out[0] = WATER_METER_VERSION;
  out[1] = (d.leak ? 1 : 0) | (d.reverse_flow ? 2 : 0) | (d.tamper ? 4 : 0) | (d.low_battery ? 8 : 0);
  out[2] = d.valve === undefined ? NO_VALVE : VALVE_STATES.indexOf(d.valve);
  view.setUint32(3, Math.round(d.volume_m3 * 1000) % 2 ** 32);
  view.setUint16(
    7,
    d.flow_m3h === undefined ? NOT_MEASURED : Math.max(0, Math.min(0xfffe, Math.round(d.flow_m3h * 1000))),
  );
  out[9] = Math.max(0, Math.min(100, Math.round(d.battery)));
  return out;
}

export function encodeDownlink(input: DownlinkInput): DownlinkResult {
  const { action, params = {} } = input.data;
  if (action === 'valve_open') return { bytes: [0x30, 0x01], errors: [], warnings: [] };
  if (action === 'valve_close') return { bytes: [0x30, 0x00], errors: [], warnings: [] };
  if (action === 'set_interval') {
    const m = params.minutes;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 0xffff) {
      return { errors: [`set_interval.minutes must be an integer 1..65535, got ${String(m)}`], warnings: [] };
    }
    return { bytes: [0x31, m >> 8, m & 0xff], errors: [], warnings: [] };
  }
  return { errors: [`water meter has no action ${JSON.stringify(action)}`], warnings: [] };
}

export function decodeDownlink(
  input: UplinkInput,
): UplinkResult<{ action: string; params: Record<string, number> }> {
  const b = input.bytes;
  if (b.length === 2 && b[0] === 0x30 && (b[1] === 0 || b[1] === 1)) {
    return {
      data: { action: b[1] === 1 ? 'valve_open' : 'valve_close', params: {} },
      errors: [],
      warnings: [],
    };
  }
  if (b.length === 3 && b[0] === 0x31) {
    return {
      data: { action: 'set_interval', params: { minutes: (b[1]! << 8) | b[2]! } },
      errors: [],
      warnings: [],
    };
  }
  return { errors: ['unknown water meter downlink'], warnings: [] };
}
