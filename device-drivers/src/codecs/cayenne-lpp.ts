import type { Reading } from '@village/protocol';
import type { PayloadCodec, UplinkInput } from './codec.js';

/**
 * Cayenne Low Power Payload (myDevices, "Cayenne LPP" reference): a sequence of
 * [channel, type, value...] records, values big-endian. Decoded data is flat, keyed
 * `{type}_{channel}` (and `_x`/`_y`/`_z`, `_lat`/`_lon`/`_alt`, `_r`/`_g`/`_b` for the
 * multi-value types), so each key becomes one Reading metric unchanged.
 *
 * Beyond the original LPP v1 types, the IPSO-derived extended set (LPP id = IPSO object id −
 * 3200) as the ElectronicCats/CayenneLPP library defines it (sizes, signedness and resolution
 * checked against its header and its unit-test byte vectors). Load (122, IPSO 3322) is not here:
 * no library we checked gives it a size or resolution.
 */
export type CayenneData = Record<string, number>;

interface LppType {
  id: number;
  name: string;
  unit: string;
  /** Value fields in wire order: byte size, signedness and the resolution one step stands for. */
  fields: { suffix: string; size: 1 | 2 | 3 | 4; signed: boolean; step: number }[];
}

const one = (size: 1 | 2 | 3 | 4, signed: boolean, step: number) => [{ suffix: '', size, signed, step }];
const xyz = (step: number) =>
  ['_x', '_y', '_z'].map((suffix) => ({ suffix, size: 2 as const, signed: true, step }));

const TYPES: LppType[] = [
  { id: 0, name: 'digital_input', unit: '', fields: one(1, false, 1) },
  { id: 1, name: 'digital_output', unit: '', fields: one(1, false, 1) },
  { id: 2, name: 'analog_input', unit: '', fields: one(2, true, 0.01) },
  { id: 3, name: 'analog_output', unit: '', fields: one(2, true, 0.01) },
  { id: 100, name: 'generic_sensor', unit: '', fields: one(4, false, 1) },
  { id: 101, name: 'illuminance', unit: 'lx', fields: one(2, false, 1) },
  { id: 102, name: 'presence', unit: '', fields: one(1, false, 1) },
  { id: 103, name: 'temperature', unit: '°C', fields: one(2, true, 0.1) },
  { id: 104, name: 'humidity', unit: '%', fields: one(1, false, 0.5) },
  { id: 113, name: 'accelerometer', unit: 'g', fields: xyz(0.001) },
  { id: 115, name: 'barometer', unit: 'hPa', fields: one(2, false, 0.1) },
  { id: 116, name: 'voltage', unit: 'V', fields: one(2, false, 0.01) },
  { id: 117, name: 'current', unit: 'A', fields: one(2, false, 0.001) },
  { id: 118, name: 'frequency', unit: 'Hz', fields: one(4, false, 1) },
  { id: 120, name: 'percentage', unit: '%', fields: one(1, false, 1) },
  { id: 121, name: 'altitude', unit: 'm', fields: one(2, true, 1) },
  { id: 125, name: 'concentration', unit: 'ppm', fields: one(2, false, 1) },
  { id: 128, name: 'power', unit: 'W', fields: one(2, false, 1) },
  { id: 130, name: 'distance', unit: 'm', fields: one(4, false, 0.001) },
  { id: 131, name: 'energy', unit: 'kWh', fields: one(4, false, 0.001) },
  { id: 132, name: 'direction', unit: '°', fields: one(2, false, 1) },
  { id: 133, name: 'unixtime', unit: 's', fields: one(4, false, 1) },
  { id: 134, name: 'gyrometer', unit: '°/s', fields: xyz(0.01) },
  {
    id: 135,
    name: 'colour',
    unit: '',
    fields: ['_r', '_g', '_b'].map((suffix) => ({ suffix, size: 1 as const, signed: false, step: 1 })),
  },
  {
    id: 136,
    name: 'gps',
    unit: '',
    fields: [
      { suffix: '_lat', size: 3, signed: true, step: 0.0001 },
      { suffix: '_lon', size: 3, signed: true, step: 0.0001 },
      { suffix: '_alt', size: 3, signed: true, step: 0.01 },
    ],
  },
  { id: 142, name: 'switch', unit: '', fields: one(1, false, 1) },
];
const BY_ID = new Map(TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(TYPES.map((t) => [t.name, t]));
const GPS_UNITS: Record<string, string> = { _lat: 'deg', _lon: 'deg', _alt: 'm' };

/** Rounds away binary noise of value × step (27.200000000000003 → 27.2). */
function scaled(raw: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number((raw * step).toFixed(decimals));
}

function readInt(bytes: Uint8Array, at: number, size: number, signed: boolean): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + bytes[at + i]!;
  const top = 2 ** (8 * size);
  return signed && v >= top / 2 ? v - top : v;
}

function decodeUplink({ bytes }: UplinkInput) {
  const data: CayenneData = {};
  const errors: string[] = [];
  const warnings: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) {
      errors.push(`cayenne: truncated record header at byte ${at}`);
      break;
    }
    const channel = bytes[at]!;
    const type = BY_ID.get(bytes[at + 1]!);
    if (type === undefined) {
      errors.push(`cayenne: unknown type ${bytes[at + 1]} on channel ${channel} at byte ${at}`);
      break;
    }
    at += 2;
    const size = type.fields.reduce((n, f) => n + f.size, 0);
    if (at + size > bytes.length) {
      errors.push(
        `cayenne: ${type.name} on channel ${channel} needs ${size} bytes, ${bytes.length - at} left`,
      );
      break;
    }
    for (const f of type.fields) {
      const key = `${type.name}_${channel}${f.suffix}`;
      if (key in data) warnings.push(`cayenne: ${key} appears twice, last value kept`);
      data[key] = scaled(readInt(bytes, at, f.size, f.signed), f.step);
      at += f.size;
    }
  }
  return { data: errors.length > 0 ? {} : data, errors, warnings };
}

const KEY = /^([a-z_]+?)_(\d{1,3})(_x|_y|_z|_lat|_lon|_alt|_r|_g|_b)?$/;

function encodeUplink({ data }: { data: CayenneData }) {
  const errors: string[] = [];
  const out: number[] = [];
  const done = new Set<string>();
  for (const key of Object.keys(data)) {
    const m = KEY.exec(key);
    const type = m ? BY_NAME.get(m[1]!) : undefined;
    const channel = m ? Number(m[2]) : Number.NaN;
    if (!m || type === undefined || channel > 255) {
      errors.push(`cayenne: cannot encode key ${key}`);
      continue;
    }
    const base = `${type.name}_${channel}`;
    if (done.has(base)) continue;
    done.add(base);
    out.push(channel, type.id);
    for (const f of type.fields) {
      const value = data[base + f.suffix];
      if (value === undefined) errors.push(`cayenne: ${base + f.suffix} missing`);
      let raw = Math.round((value ?? 0) / f.step);
      const top = 2 ** (8 * f.size);
      const [lo, hi] = f.signed ? [-top / 2, top / 2 - 1] : [0, top - 1];
      if (!(raw >= lo && raw <= hi)) {
        errors.push(
          `cayenne: ${base + f.suffix} = ${value} does not fit ${type.name} (${lo * f.step}..${hi * f.step})`,
        );
        raw = 0;
      }
      if (raw < 0) raw += top;
      for (let i = f.size - 1; i >= 0; i--) out.push(Math.floor(raw / 2 ** (8 * i)) % 256);
    }
  }
  return { bytes: Uint8Array.from(out), fPort: 1, errors, warnings: [] };
}

function toTelemetry(data: CayenneData, device: string, ts: number) {
  const readings: Reading[] = Object.entries(data).map(([metric, value]) => {
    const m = KEY.exec(metric);
    const type = m ? BY_NAME.get(m[1]!) : undefined;
    const unit = m?.[3] && type?.name === 'gps' ? GPS_UNITS[m[3]]! : (type?.unit ?? '');
    return { device, metric, value, unit, ts, quality: 'good' as const };
  });
  return { readings, events: [] };
}

export const cayenneLppCodec: PayloadCodec<CayenneData> = {
  name: 'cayenne',
  // The metrics depend on what a device sends; the inventory lists the common ones on channel 1.
  metrics: [
    { name: 'temperature_1', unit: '°C' },
    { name: 'humidity_1', unit: '%' },
  ],
  decodeUplink,
  encodeUplink,
  toTelemetry,
};
