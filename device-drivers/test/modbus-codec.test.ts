import { describe, expect, it } from 'vitest';
import {
  BYTE_ORDERS,
  decodeRaw,
  encodeRaw,
  shortestFloat32,
  toPhysical,
  toRaw,
} from '../src/modbus/register-codec.js';

// Vectors written out by hand from each value's big-endian bytes (A B C D ...), see register-codec.ts.
const VECTORS = [
  { type: 'u16', value: 4660, ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] },
  { type: 'i16', value: -2, ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] },
  {
    type: 'u32',
    value: 0x12345678,
    ABCD: [0x1234, 0x5678],
    CDAB: [0x5678, 0x1234],
    BADC: [0x3412, 0x7856],
    DCBA: [0x7856, 0x3412],
  },
  {
    type: 'i32',
    value: -123456789,
    ABCD: [0xf8a4, 0x32eb],
    CDAB: [0x32eb, 0xf8a4],
    BADC: [0xa4f8, 0xeb32],
    DCBA: [0xeb32, 0xa4f8],
  },
  // 21.5 as float32 is 41ac0000
  {
    type: 'f32',
    value: 21.5,
    ABCD: [0x41ac, 0x0000],
    CDAB: [0x0000, 0x41ac],
    BADC: [0xac41, 0x0000],
    DCBA: [0x0000, 0xac41],
  },
  // 1234.5678901234 as float64 is 40934a4584fd0ee6
  {
    type: 'f64',
    value: 1234.5678901234,
    ABCD: [0x4093, 0x4a45, 0x84fd, 0x0ee6],
    CDAB: [0x0ee6, 0x84fd, 0x4a45, 0x4093],
    BADC: [0x9340, 0x454a, 0xfd84, 0xe60e],
    DCBA: [0xe60e, 0xfd84, 0x454a, 0x9340],
  },
] as const;

describe('register codec', () => {
  for (const v of VECTORS) {
    for (const order of BYTE_ORDERS) {
      it(`${v.type} ${order}`, () => {
        expect(encodeRaw(v.value, v.type, order)).toEqual(v[order]);
        expect(decodeRaw(v[order], v.type, order)).toBe(v.value);
      });
    }
  }

  it('reports a float32 as its shortest decimal', () => {
    expect(decodeRaw(encodeRaw(0.1, 'f32', 'ABCD'), 'f32', 'ABCD')).toBe(0.1);
    expect(shortestFloat32(Math.fround(7.25))).toBe(7.25);
    expect(shortestFloat32(Math.fround(9.87654))).toBe(9.87654);
    expect(Math.fround(9.87654)).not.toBe(9.87654); // so the line above proves the shortening
  });

  it('refuses values that do not fit the type', () => {
    expect(() => encodeRaw(70_000, 'u16', 'ABCD')).toThrow(/does not fit u16/);
    expect(() => encodeRaw(-1, 'u32', 'ABCD')).toThrow(/does not fit u32/);
    expect(() => encodeRaw(1.5, 'i16', 'ABCD')).toThrow(/does not fit i16/);
    expect(() => encodeRaw(1e39, 'f32', 'ABCD')).toThrow(/does not fit f32/);
    expect(() => encodeRaw(Number.NaN, 'f64', 'ABCD')).toThrow(/does not fit f64/);
    expect(() => decodeRaw([1], 'u32', 'ABCD')).toThrow(/needs 2 registers/);
  });

  it('applies scale and offset exactly for integer sources', () => {
    expect(toPhysical(253, 'u16', 0.1, 0)).toBe(25.3);
    expect(toPhysical(653, 'i16', 0.1, -40)).toBe(25.3);
    expect(toPhysical(101225, 'i32', 0.01, 0)).toBe(1012.25);
    expect(toRaw(25.3, 'i16', 0.1, -40)).toBe(653);
    expect(toRaw(1012.25, 'i32', 0.01, 0)).toBe(101225);
  });
});
