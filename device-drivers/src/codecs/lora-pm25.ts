import type { Reading } from '@village/protocol';
import type { PayloadCodec, UplinkInput } from './codec.js';

/**
 * LoRa PM2.5 air-quality sensor, fPort 2, 8 bytes, big-endian (docs/lorawan.md):
 *
 *   bytes 0-1  PM2.5, 0.1 µg/m³ (uint16); 0xFFFF = sensor fault
 *   bytes 2-3  PM10, 0.1 µg/m³ (uint16); 0xFFFF = sensor fault
 *   bytes 4-5  temperature, 0.1 °C (int16); 0x7FFF = sensor fault
 *   byte 6     relative humidity, % (uint8, 0..100)
 *   byte 7     battery, % (uint8, 0..100)
 */
export interface Pm25Data {
  pm2_5?: number;
  pm10?: number;
  temperature?: number;
  humidity?: number;
  battery?: number;
}

export const PM25_FPORT = 2;
const LENGTH = 8;
const FAULT_U16 = 0xffff;
const FAULT_I16 = 0x7fff;

const METRICS = [
  { name: 'pm2_5', unit: 'µg/m³' },
  { name: 'pm10', unit: 'µg/m³' },
  { name: 'temperature', unit: '°C' },
  { name: 'humidity', unit: '%' },
  { name: 'battery', unit: '%' },
] as const;

function decodeUplink({ bytes, fPort }: UplinkInput) {
  const data: Pm25Data = {};
  const errors: string[] = [];
  const warnings: string[] = [];
  if (fPort !== PM25_FPORT) errors.push(`lora-pm25: unexpected fPort ${fPort}, expected ${PM25_FPORT}`);
  else if (bytes.length !== LENGTH) errors.push(`lora-pm25: ${bytes.length} bytes, ${LENGTH} expected`);
  if (errors.length > 0) return { data, errors, warnings };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pm25 = view.getUint16(0);
  const pm10 = view.getUint16(2);
  const temp = view.getInt16(4);
  if (pm25 === FAULT_U16) warnings.push('lora-pm25: PM2.5 sensor fault');
  else data.pm2_5 = pm25 / 10;
  if (pm10 === FAULT_U16) warnings.push('lora-pm25: PM10 sensor fault');
  else data.pm10 = pm10 / 10;
  if (temp === FAULT_I16) warnings.push('lora-pm25: temperature sensor fault');
  else data.temperature = temp / 10;
  const humidity = bytes[6]!;
  const battery = bytes[7]!;
  if (humidity > 100) errors.push(`lora-pm25: humidity ${humidity} % is above 100`);
  else data.humidity = humidity;
  if (battery > 100) errors.push(`lora-pm25: battery ${battery} % is above 100`);
  else data.battery = battery;
  return { data: errors.length > 0 ? {} : data, errors, warnings };
}

function encodeUplink({ data }: { data: Pm25Data }) {
  const errors: string[] = [];
  const bytes = new Uint8Array(LENGTH);
  const view = new DataView(bytes.buffer);
  const tenths = (name: string, v: number | undefined, min: number, max: number, fault: number) => {
    if (v === undefined) return fault;
    const raw = Math.round(v * 10);
    if (!Number.isFinite(raw) || raw < min || raw >= max) {
      errors.push(`lora-pm25: ${name} ${v} out of range`);
      return fault;
    }
    return raw;
  };
  view.setUint16(0, tenths('pm2_5', data.pm2_5, 0, FAULT_U16, FAULT_U16));
  view.setUint16(2, tenths('pm10', data.pm10, 0, FAULT_U16, FAULT_U16));
  view.setInt16(4, tenths('temperature', data.temperature, -FAULT_I16, FAULT_I16, FAULT_I16));
  bytes[6] = Math.min(100, Math.max(0, Math.round(data.humidity ?? 0)));
  bytes[7] = Math.min(100, Math.max(0, Math.round(data.battery ?? 0)));
  return { bytes, fPort: PM25_FPORT, errors, warnings: [] };
}

function toTelemetry(data: Pm25Data, device: string, ts: number) {
  const readings: Reading[] = [];
  for (const { name, unit } of METRICS) {
    const value = data[name];
    if (value !== undefined) readings.push({ device, metric: name, value, unit, ts, quality: 'good' });
  }
  return { readings, events: [] };
}

export const loraPm25Codec: PayloadCodec<Pm25Data> = {
  name: 'lora-pm25',
  metrics: METRICS,
  decodeUplink,
  encodeUplink,
  toTelemetry,
};
