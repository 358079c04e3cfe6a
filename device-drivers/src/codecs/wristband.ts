import type { PayloadCodec, UplinkInput } from './codec.js';
import { WRISTBAND_METRICS, type WristbandData, wristbandToTelemetry } from './wristband-model.js';

/**
 * Elder-care wristband binary format v1 (docs/wristband-format.md is the reference):
 *
 *   byte 0     format version, 1
 *   byte 1     flags: bit0 worn, bit1 fall, bit2 sos, bit3 GPS fix present, bits 4-7 reserved (0)
 *   byte 2     heart rate, bpm (uint8); 0 = not measured
 *   byte 3     SpO2, % (uint8, 0..100); 0 = not measured
 *   bytes 4-5  steps since local midnight (uint16, big-endian)
 *   byte 6     battery, % (uint8, 0..100); 255 = unknown
 *   bytes 7-10 latitude, 1e-6 degree (int32, big-endian)   } only when flag bit3 is set
 *   bytes 11-14 longitude, 1e-6 degree (int32, big-endian) }
 */
export const WRISTBAND_FPORT = 10;
export const WRISTBAND_VERSION = 1;
const BASE_LENGTH = 7;
const GPS_LENGTH = 15;
const FLAG_WORN = 0x01;
const FLAG_FALL = 0x02;
const FLAG_SOS = 0x04;
const FLAG_GPS = 0x08;
const BATTERY_UNKNOWN = 255;

function decodeUplink({ bytes, fPort }: UplinkInput) {
  const errors: string[] = [];
  const warnings: string[] = [];
  const data: WristbandData = {};
  if (fPort !== WRISTBAND_FPORT) {
    errors.push(`wristband: unexpected fPort ${fPort}, expected ${WRISTBAND_FPORT}`);
    return { data, errors, warnings };
  }
  if (bytes.length < BASE_LENGTH) {
    errors.push(`wristband: ${bytes.length} bytes, at least ${BASE_LENGTH} expected`);
    return { data, errors, warnings };
  }
  if (bytes[0] !== WRISTBAND_VERSION) {
    errors.push(`wristband: unsupported format version ${bytes[0]}`);
    return { data, errors, warnings };
  }
  const flags = bytes[1]!;
  const hasGps = (flags & FLAG_GPS) !== 0;
  const expected = hasGps ? GPS_LENGTH : BASE_LENGTH;
  if (bytes.length !== expected) {
    errors.push(`wristband: ${bytes.length} bytes, ${expected} expected for flags 0x${flags.toString(16)}`);
    return { data, errors, warnings };
  }
  if ((flags & 0xf0) !== 0) warnings.push(`wristband: reserved flag bits set (0x${flags.toString(16)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  data.worn = (flags & FLAG_WORN) !== 0;
  data.fall = (flags & FLAG_FALL) !== 0;
  data.sos = (flags & FLAG_SOS) !== 0;
  if (bytes[2] !== 0) data.heart_rate = bytes[2]!;
  const spo2 = bytes[3]!;
  if (spo2 > 100) errors.push(`wristband: SpO2 ${spo2} % is above 100`);
  else if (spo2 !== 0) data.spo2 = spo2;
  data.steps = view.getUint16(4);
  const battery = bytes[6]!;
  if (battery === BATTERY_UNKNOWN) warnings.push('wristband: battery level unknown');
  else if (battery > 100) errors.push(`wristband: battery ${battery} % is above 100`);
  else data.battery = battery;
  if (hasGps) {
    const lat = view.getInt32(7) / 1e6;
    const lon = view.getInt32(11) / 1e6;
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180)
      errors.push(`wristband: position ${lat},${lon} out of range`);
    else {
      data.lat = lat;
      data.lon = lon;
    }
  }
  return { data: errors.length > 0 ? {} : data, errors, warnings };
}

function encodeUplink({ data }: { data: WristbandData }) {
  const errors: string[] = [];
  const hasGps = data.lat !== undefined && data.lon !== undefined;
  const bytes = new Uint8Array(hasGps ? GPS_LENGTH : BASE_LENGTH);
  const view = new DataView(bytes.buffer);
  const byteField = (name: string, v: number | undefined, max: number, absent: number) => {
    if (v === undefined) return absent;
    if (!Number.isInteger(v) || v < 0 || v > max) {
      errors.push(`wristband: ${name} ${v} must be an integer 0..${max}`);
      return absent;
    }
    return v;
  };
  bytes[0] = WRISTBAND_VERSION;
  bytes[1] =
    (data.worn ? FLAG_WORN : 0) |
    (data.fall ? FLAG_FALL : 0) |
    (data.sos ? FLAG_SOS : 0) |
    (hasGps ? FLAG_GPS : 0);
  bytes[2] = byteField('heart_rate', data.heart_rate, 255, 0);
  bytes[3] = byteField('spo2', data.spo2, 100, 0);
  view.setUint16(4, byteField('steps', data.steps, 0xffff, 0));
  bytes[6] = byteField('battery', data.battery, 100, BATTERY_UNKNOWN);
  if (hasGps) {
    view.setInt32(7, Math.round(data.lat! * 1e6));
    view.setInt32(11, Math.round(data.lon! * 1e6));
  }
  return { bytes, fPort: WRISTBAND_FPORT, errors, warnings: [] };
}

export const wristbandCodec: PayloadCodec<WristbandData> = {
  name: 'wristband',
  metrics: WRISTBAND_METRICS,
  decodeUplink,
  encodeUplink,
  toTelemetry: wristbandToTelemetry,
};
