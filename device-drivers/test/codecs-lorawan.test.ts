import { describe, expect, it } from 'vitest';
import {
  LORAWAN_CODECS,
  WRISTBAND_FPORT,
  cayenneLppCodec,
  loraPm25Codec,
  wristbandCodec,
  wristbandToTelemetry,
} from '../src/codecs/index.js';

const TS = 1_767_225_600_000;
const b = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'));

describe('Cayenne LPP', () => {
  it('decodes the documented example (TheThingsIndustries/lorawan-stack-docs, integrations/payload-formatters/cayenne.md)', () => {
    // [0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xFF] → temperature_3 27.2, temperature_5 25.5
    const r = cayenneLppCodec.decodeUplink({ bytes: b('03 67 0110 05 67 00FF'), fPort: 8 });
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({ temperature_3: 27.2, temperature_5: 25.5 });
  });

  it('decodes signed, multi-axis and GPS types, and re-encodes to the same bytes', () => {
    // temperature ch1 -4.0 °C; accelerometer ch6 1.233/-1.233/0 g; humidity ch2 48.5 %; GPS ch1.
    const bytes = b('01 67 FFD8  06 71 04D1 FB2F 0000  02 68 61  01 88 06765F F2960A 0003E8');
    const r = cayenneLppCodec.decodeUplink({ bytes, fPort: 1 });
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({
      temperature_1: -4,
      accelerometer_6_x: 1.233,
      accelerometer_6_y: -1.233,
      accelerometer_6_z: 0,
      humidity_2: 48.5,
      gps_1_lat: 42.3519,
      gps_1_lon: -87.9094,
      gps_1_alt: 10,
    });
    const again = cayenneLppCodec.encodeUplink({ data: r.data });
    expect(again.errors).toEqual([]);
    expect(Buffer.from(again.bytes).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
    const { readings } = cayenneLppCodec.toTelemetry(r.data, 'dev-1', TS);
    expect(readings.find((x) => x.metric === 'gps_1_lat')?.unit).toBe('deg');
    expect(readings.find((x) => x.metric === 'gps_1_alt')?.unit).toBe('m');
    expect(readings.find((x) => x.metric === 'temperature_1')).toMatchObject({
      value: -4,
      unit: '°C',
      ts: TS,
    });
  });

  it('reports truncated records and unknown types as errors with no data', () => {
    expect(cayenneLppCodec.decodeUplink({ bytes: b('03 67 01'), fPort: 1 })).toMatchObject({
      data: {},
      errors: [expect.stringMatching(/temperature on channel 3 needs 2 bytes/)],
    });
    expect(cayenneLppCodec.decodeUplink({ bytes: b('03 fe 01'), fPort: 1 }).errors[0]).toMatch(
      /unknown type 254/,
    );
    expect(cayenneLppCodec.decodeUplink({ bytes: b('03'), fPort: 1 }).errors[0]).toMatch(
      /truncated record header/,
    );
  });
});

describe('wristband format v1 (docs/wristband-format.md)', () => {
  it('decodes the documented example frames byte by byte', () => {
    // Example 1 of the doc: worn, HR 72, SpO2 98, 4321 steps, battery 85 %, no GPS.
    expect(wristbandCodec.decodeUplink({ bytes: b('01 01 48 62 10E1 55'), fPort: WRISTBAND_FPORT })).toEqual({
      data: { worn: true, fall: false, sos: false, heart_rate: 72, spo2: 98, steps: 4321, battery: 85 },
      errors: [],
      warnings: [],
    });
    // Example 2: worn + fall + sos + GPS 30.572800, 104.066800; HR 120, SpO2 not measured, battery unknown.
    const r = wristbandCodec.decodeUplink({ bytes: b('01 0F 78 00 0000 FF 01D28100 0633EEF0'), fPort: 10 });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['wristband: battery level unknown']);
    expect(r.data).toEqual({
      worn: true,
      fall: true,
      sos: true,
      heart_rate: 120,
      steps: 0,
      lat: 30.5728,
      lon: 104.0668,
    });
  });

  it('round-trips through encodeUplink', () => {
    const data = {
      heart_rate: 64,
      spo2: 97,
      steps: 65535,
      battery: 100,
      worn: false,
      fall: false,
      sos: true,
      lat: -33.8688,
      lon: 151.2093,
    };
    const enc = wristbandCodec.encodeUplink({ data });
    expect(enc.errors).toEqual([]);
    expect(enc.fPort).toBe(10);
    expect(wristbandCodec.decodeUplink({ bytes: enc.bytes, fPort: enc.fPort }).data).toEqual(data);
  });

  it('refuses wrong port, length, version and out-of-range values', () => {
    const ok = b('01 01 48 62 10E1 55');
    expect(wristbandCodec.decodeUplink({ bytes: ok, fPort: 2 }).errors[0]).toMatch(/fPort 2/);
    expect(wristbandCodec.decodeUplink({ bytes: ok.subarray(0, 5), fPort: 10 }).errors[0]).toMatch(/5 bytes/);
    expect(wristbandCodec.decodeUplink({ bytes: b('02 01 48 62 10E1 55'), fPort: 10 }).errors[0]).toMatch(
      /version 2/,
    );
    expect(wristbandCodec.decodeUplink({ bytes: b('01 09 48 62 10E1 55'), fPort: 10 }).errors[0]).toMatch(
      /15 expected/,
    );
    const badSpo2 = wristbandCodec.decodeUplink({ bytes: b('01 01 48 C8 10E1 55'), fPort: 10 });
    expect(badSpo2.errors[0]).toMatch(/SpO2 200/);
    expect(badSpo2.data).toEqual({});
    expect(wristbandCodec.encodeUplink({ data: { spo2: 101 } }).errors[0]).toMatch(/spo2 101/);
  });

  it('maps decoded data to readings and critical fall/sos events (shared wristband model)', () => {
    const { readings, events } = wristbandToTelemetry(
      {
        heart_rate: 80,
        spo2: 95,
        steps: 10,
        battery: 50,
        worn: true,
        fall: true,
        sos: false,
        lat: 1.5,
        lon: 2.5,
      },
      'band-1',
      TS,
    );
    expect(readings.map((r) => [r.metric, r.value, r.unit])).toEqual([
      ['heart_rate', 80, 'bpm'],
      ['spo2', 95, '%'],
      ['steps', 10, 'count'],
      ['battery', 50, '%'],
      ['worn', true, ''],
      ['lat', 1.5, 'deg'],
      ['lon', 2.5, 'deg'],
    ]);
    expect(events).toEqual([
      { device: 'band-1', type: 'fall', severity: 'critical', ts: TS, data: { lat: 1.5, lon: 2.5 } },
    ]);
    expect(wristbandToTelemetry({ sos: true }, 'band-1', TS).events).toEqual([
      { device: 'band-1', type: 'sos', severity: 'critical', ts: TS, data: {} },
    ]);
  });
});

describe('LoRa PM2.5 sensor', () => {
  it('decodes a frame, reports sensor faults as warnings, and round-trips', () => {
    // PM2.5 35.5, PM10 80.2, temperature -3.4 °C, humidity 65 %, battery 90 %.
    const r = loraPm25Codec.decodeUplink({ bytes: b('0163 0322 FFDE 41 5A'), fPort: 2 });
    expect(r).toEqual({
      data: { pm2_5: 35.5, pm10: 80.2, temperature: -3.4, humidity: 65, battery: 90 },
      errors: [],
      warnings: [],
    });
    expect(Buffer.from(loraPm25Codec.encodeUplink({ data: r.data }).bytes).toString('hex')).toBe(
      '01630322ffde415a',
    );
    const fault = loraPm25Codec.decodeUplink({ bytes: b('FFFF 0322 7FFF 41 5A'), fPort: 2 });
    expect(fault.data).toEqual({ pm10: 80.2, humidity: 65, battery: 90 });
    expect(fault.warnings).toHaveLength(2);
    expect(loraPm25Codec.decodeUplink({ bytes: b('0163'), fPort: 2 }).errors[0]).toMatch(
      /2 bytes, 8 expected/,
    );
    expect(loraPm25Codec.decodeUplink({ bytes: b('0163 0322 FFDE 41 5A'), fPort: 3 }).errors[0]).toMatch(
      /fPort 3/,
    );
    const { readings } = loraPm25Codec.toTelemetry(r.data, 'pm-1', TS);
    expect(readings.find((x) => x.metric === 'pm2_5')).toMatchObject({ value: 35.5, unit: 'µg/m³' });
  });

  it('is registered under the names device configs use', () => {
    expect(Object.keys(LORAWAN_CODECS).sort()).toEqual(['cayenne', 'lora-pm25', 'wristband']);
  });
});
