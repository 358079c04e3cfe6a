import { describe, expect, it } from 'vitest';
import * as smoke from '../src/codecs/nb-smoke-detector.js';
import * as well from '../src/codecs/nb-well-cover.js';
import * as wrist from '../src/codecs/nb-wristband.js';

describe('NB-IoT codecs (ChirpStack contract)', () => {
  it('smoke detector: encode → decode round trip, including negative temperature', () => {
    const d = {
      alarm: true,
      self_test: false,
      fault: false,
      smoke_density: 2.35,
      temperature: -4.5,
      battery: 87,
    };
    const bytes = smoke.encodeUplink(d);
    expect(bytes).toHaveLength(6);
    expect(smoke.decodeUplink({ bytes, fPort: 1 })).toEqual({ data: d, errors: [], warnings: [] });
  });

  it('well cover: water level absent when no probe, present otherwise', () => {
    const open = { open: true, water_alarm: false, tilt_deg: 37.5, water_level_cm: 120, battery: 55 };
    expect(well.decodeUplink({ bytes: well.encodeUplink(open), fPort: 1 }).data).toEqual(open);
    const noProbe = { open: false, water_alarm: false, tilt_deg: -1.2, battery: 99 };
    expect(well.decodeUplink({ bytes: well.encodeUplink(noProbe), fPort: 1 }).data).toEqual(noProbe);
  });

  it('wristband: with and without position; zero heart rate means not measured', () => {
    const withPos = {
      worn: true,
      fall: true,
      sos: false,
      heart_rate: 72,
      spo2: 97,
      steps: 12345,
      battery: 40,
      lat: 30.123456,
      lon: 120.654321,
    };
    const b = wrist.encodeUplink(withPos);
    expect(b).toHaveLength(16);
    expect(wrist.decodeUplink({ bytes: b, fPort: 1 }).data).toEqual(withPos);
    const bare = { worn: false, fall: false, sos: true, steps: 4_000_000_000, battery: 5 };
    expect(wrist.decodeUplink({ bytes: wrist.encodeUplink(bare), fPort: 1 }).data).toEqual(bare);
  });

  it('truncated and oversized payloads give errors, not exceptions', () => {
    for (const codec of [smoke, well, wrist]) {
      for (const len of [0, 1, 5, 7, 9, 15, 17, 300]) {
        const r = codec.decodeUplink({ bytes: new Uint8Array(len).fill(0x08), fPort: 1 });
        if (r.errors.length === 0) expect(r.data).toBeDefined();
        else expect(r.data).toBeUndefined();
      }
    }
    expect(wrist.decodeUplink({ bytes: [0x08, 0, 0, 0, 0, 0, 0, 50], fPort: 1 }).errors[0]).toMatch(
      /must be 16 bytes/,
    );
  });

  it('random bytes never throw', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Array.from({ length: rnd() % 20 }, rnd);
      for (const codec of [smoke, well, wrist]) {
        const r = codec.decodeUplink({ bytes, fPort: 1 });
        expect(Array.isArray(r.errors)).toBe(true);
      }
    }
  });

  it('downlinks: encode → device-side decode, and bad params are refused', () => {
    const s = smoke.encodeDownlink({ data: { action: 'silence', params: { minutes: 5 } } });
    expect(smoke.decodeDownlink({ bytes: s.bytes!, fPort: 1 }).data).toEqual({
      action: 'silence',
      params: { minutes: 5 },
    });
    expect(smoke.encodeDownlink({ data: { action: 'silence', params: { minutes: 999 } } }).errors[0]).toMatch(
      /1\.\.255/,
    );
    const w = wrist.encodeDownlink({ data: { action: 'set_interval', params: { minutes: 300 } } });
    expect(wrist.decodeDownlink({ bytes: w.bytes!, fPort: 1 }).data).toEqual({
      action: 'set_interval',
      params: { minutes: 300 },
    });
    const t = well.encodeDownlink({ data: { action: 'set_tilt_threshold', params: { degrees: 20 } } });
    expect(well.decodeDownlink({ bytes: t.bytes!, fPort: 1 }).data?.params.degrees).toBe(20);
    expect(well.encodeDownlink({ data: { action: 'explode' } }).errors[0]).toMatch(/no action/);
  });
});
