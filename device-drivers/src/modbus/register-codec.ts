/**
 * Register codec: the pure mapping between a point's physical value and the 16-bit words (or
 * bit) a Modbus slave holds for it. Shared by the driver (decode) and the simulators (encode),
 * so both sides agree on every data type and word order by construction.
 *
 * Byte orders name the bytes of the big-endian value A B C D (E F G H for 64-bit):
 *   ABCD  words high-first, bytes high-first (Modbus default, spec §4.2 "big-Endian")
 *   CDAB  words low-first,  bytes high-first ("word swap", common on PLCs)
 *   BADC  words high-first, bytes swapped within each word
 *   DCBA  words low-first,  bytes swapped (fully little-endian)
 * For 64-bit values "words low-first" reverses all four words (GH EF CD AB for CDAB).
 * For 16-bit values only the byte swap applies (BADC and DCBA swap the two bytes).
 */
export const DATA_TYPES = ['bit', 'u16', 'i16', 'u32', 'i32', 'f32', 'f64'] as const;
export type DataType = (typeof DATA_TYPES)[number];
export const BYTE_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type ByteOrder = (typeof BYTE_ORDERS)[number];

/** Registers a value of this type occupies (a bit occupies one coil or discrete input). */
export function wordCount(type: DataType): number {
  switch (type) {
    case 'bit':
    case 'u16':
    case 'i16':
      return 1;
    case 'u32':
    case 'i32':
    case 'f32':
      return 2;
    case 'f64':
      return 4;
  }
}

const WORD_SWAP: Record<ByteOrder, boolean> = { ABCD: false, CDAB: true, BADC: false, DCBA: true };
const BYTE_SWAP: Record<ByteOrder, boolean> = { ABCD: false, CDAB: false, BADC: true, DCBA: true };

/** Both swaps are involutions and commute, so the same reordering serves encode and decode. */
function reorder(bytes: Buffer, order: ByteOrder): Buffer {
  const out = Buffer.from(bytes);
  if (BYTE_SWAP[order]) out.swap16();
  if (WORD_SWAP[order] && out.length > 2) {
    const words = out.length / 2;
    const copy = Buffer.from(out);
    for (let i = 0; i < words; i++) copy.copy(out, (words - 1 - i) * 2, i * 2, i * 2 + 2);
  }
  return out;
}

/** Raw (unscaled) value from the words read for one point, in the order the slave sent them. */
export function decodeRaw(
  words: readonly number[],
  type: Exclude<DataType, 'bit'>,
  order: ByteOrder,
): number {
  const n = wordCount(type);
  if (words.length !== n) throw new RangeError(`${type} needs ${n} registers, got ${words.length}`);
  const wire = Buffer.alloc(n * 2);
  words.forEach((w, i) => wire.writeUInt16BE(w & 0xffff, i * 2));
  const be = reorder(wire, order);
  switch (type) {
    case 'u16':
      return be.readUInt16BE(0);
    case 'i16':
      return be.readInt16BE(0);
    case 'u32':
      return be.readUInt32BE(0);
    case 'i32':
      return be.readInt32BE(0);
    case 'f32':
      return shortestFloat32(be.readFloatBE(0));
    case 'f64':
      return be.readDoubleBE(0);
  }
}

/** Words for a raw value; throws RangeError when the value does not fit the type. */
export function encodeRaw(raw: number, type: Exclude<DataType, 'bit'>, order: ByteOrder): number[] {
  const n = wordCount(type);
  const be = Buffer.alloc(n * 2);
  const int = (min: number, max: number) => {
    if (!Number.isInteger(raw) || raw < min || raw > max) {
      throw new RangeError(`${raw} does not fit ${type} (${min}..${max})`);
    }
  };
  switch (type) {
    case 'u16':
      int(0, 0xffff);
      be.writeUInt16BE(raw, 0);
      break;
    case 'i16':
      int(-0x8000, 0x7fff);
      be.writeInt16BE(raw, 0);
      break;
    case 'u32':
      int(0, 0xffffffff);
      be.writeUInt32BE(raw, 0);
      break;
    case 'i32':
      int(-0x80000000, 0x7fffffff);
      be.writeInt32BE(raw, 0);
      break;
    case 'f32':
      if (!Number.isFinite(raw) || Math.abs(raw) > 3.4028234663852886e38) {
        throw new RangeError(`${raw} does not fit f32`);
      }
      be.writeFloatBE(raw, 0);
      break;
    case 'f64':
      if (!Number.isFinite(raw)) throw new RangeError(`${raw} does not fit f64`);
      be.writeDoubleBE(raw, 0);
      break;
  }
  const wire = reorder(be, order);
  return Array.from({ length: n }, (_, i) => wire.readUInt16BE(i * 2));
}

/**
 * The shortest decimal that is the same float32, e.g. 21.5 stays 21.5 and 0.1f reads 0.1 rather
 * than 0.10000000149011612: the sensor meant the short decimal, and the batch codec stores short
 * decimals compactly.
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

/** Decimal places of a number as written (0.01 → 2), for rounding scaled integers exactly. */
export function decimalPlaces(x: number): number {
  if (Number.isInteger(x)) return 0;
  const s = String(x);
  const e = s.indexOf('e-');
  if (e >= 0) return Number(s.slice(e + 2)) + (s.slice(0, e).split('.')[1]?.length ?? 0);
  return s.split('.')[1]?.length ?? 0;
}

/** Physical value = raw × scale + offset; integer sources are rounded to the scale's precision. */
export function toPhysical(raw: number, type: DataType, scale: number, offset: number): number {
  const v = raw * scale + offset;
  if (type === 'f32' || type === 'f64') return v;
  const places = Math.min(15, decimalPlaces(scale) + decimalPlaces(offset));
  return Number(v.toFixed(places));
}

/** Raw value for a physical one (inverse of toPhysical); integer types are rounded to the nearest step. */
export function toRaw(value: number, type: DataType, scale: number, offset: number): number {
  const raw = (value - offset) / scale;
  return type === 'f32' || type === 'f64' ? raw : Math.round(raw);
}
