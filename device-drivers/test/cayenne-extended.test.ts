import { describe, expect, it } from 'vitest';
import { cayenneLppCodec } from '../src/codecs/index.js';

const b = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * Byte vectors published in ElectronicCats/CayenneLPP's own unit tests (test/aunit/main.cpp:
 * the encoder tests, whose bytes its decoder tests read back), with the value each stands for.
 */
const PUBLISHED: [name: string, bytes: string, data: Record<string, number>, unit: string][] = [
  ['generic sensor 998', '01 64 000003E6', { generic_sensor_1: 998 }, ''],
  ['voltage 224.56 V', '03 74 57B8', { voltage_3: 224.56 }, 'V'],
  ['current 0.237 A', '01 75 00ED', { current_1: 0.237 }, 'A'],
  ['frequency 868.1 MHz', '01 76 33BE27A0', { frequency_1: 868_100_000 }, 'Hz'],
  ['altitude −17 m (signed)', '05 79 FFEF', { altitude_5: -17 }, 'm'],
  ['power 3450 W', '05 80 0D7A', { power_5: 3450 }, 'W'],
  ['power at its limit 65535 W', '01 80 FFFF', { power_1: 65535 }, 'W'],
  ['distance 0.034 m', '01 82 00000022', { distance_1: 0.034 }, 'm'],
  ['energy 7953.2 kWh', '01 83 00795B30', { energy_1: 7953.2 }, 'kWh'],
  ['direction 256° (two bytes)', '01 84 0100', { direction_1: 256 }, '°'],
  ['switch on', '05 8E 01', { switch_5: 1 }, ''],
];

/** Types with no published vector: bytes worked out from the library's size and resolution. */
const WORKED: [name: string, bytes: string, data: Record<string, number>, unit: string][] = [
  ['percentage 87 %', '02 78 57', { percentage_2: 87 }, '%'],
  ['CO2 concentration 1234 ppm', '04 7D 04D2', { concentration_4: 1234 }, 'ppm'],
  ['unix time 2026-01-01T00:00:00Z', '01 85 6955B900', { unixtime_1: 1_767_225_600 }, 's'],
  ['colour r/g/b', '07 87 FF8000', { colour_7_r: 255, colour_7_g: 128, colour_7_b: 0 }, ''],
];

describe('Cayenne LPP extended (IPSO-derived) types', () => {
  for (const [name, bytes, data, unit] of [...PUBLISHED, ...WORKED]) {
    it(`${name}: decodes, re-encodes to the same bytes, and keeps its unit`, () => {
      const r = cayenneLppCodec.decodeUplink({ bytes: b(bytes), fPort: 1 });
      expect(r.errors).toEqual([]);
      expect(r.data).toEqual(data);
      const again = cayenneLppCodec.encodeUplink({ data });
      expect(again.errors).toEqual([]);
      expect(hex(again.bytes)).toBe(hex(b(bytes)));
      const { readings } = cayenneLppCodec.toTelemetry(data, 'dev-1', 0);
      for (const reading of readings) expect(reading.unit, reading.metric).toBe(unit);
    });
  }

  it('decodes a frame mixing original and extended types', () => {
    const r = cayenneLppCodec.decodeUplink({
      bytes: b('03 67 0110  03 74 57B8  05 79 FFEF  05 8E 01'),
      fPort: 1,
    });
    expect(r).toMatchObject({
      errors: [],
      data: { temperature_3: 27.2, voltage_3: 224.56, altitude_5: -17, switch_5: 1 },
    });
  });

  it('a truncated extended record is an error naming the type and size', () => {
    expect(cayenneLppCodec.decodeUplink({ bytes: b('01 76 33BE27'), fPort: 1 }).errors[0]).toMatch(
      /frequency on channel 1 needs 4 bytes, 3 left/,
    );
  });

  it('refuses to encode a value that does not fit its type instead of wrapping it', () => {
    expect(cayenneLppCodec.encodeUplink({ data: { voltage_1: -1 } }).errors[0]).toMatch(
      /voltage_1 = -1 does not fit/,
    );
    expect(cayenneLppCodec.encodeUplink({ data: { power_1: 70_000 } }).errors[0]).toMatch(/power_1 = 70000/);
    expect(cayenneLppCodec.encodeUplink({ data: { altitude_1: -32_769 } }).errors[0]).toMatch(/altitude_1/);
  });
});
