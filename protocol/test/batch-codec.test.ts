import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Batch,
  LIMITS,
  ProtocolError,
  type Reading,
  checkEvent,
  decodeBatch,
  encodeBatch,
  toDecimal,
} from '../src/index.js';

const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);
const ts = fc.integer({ min: LIMITS.minTimestamp, max: LIMITS.maxTimestamp });
const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
  fc.integer(),
  fc.integer({ min: -100000, max: 100000 }).map((n) => n / 10),
  fc.integer({ min: -10000000, max: 10000000 }).map((n) => n / 1000),
  fc.boolean(),
  fc.string({ maxLength: 40 }),
);
const reading: fc.Arbitrary<Reading> = fc.record({
  device: id,
  metric: id,
  value,
  unit: fc.constantFrom('', 'µg/m³', '°C', '%', 'mg/L', 'bpm'),
  ts,
  quality: fc.constantFrom('good', 'suspect', 'bad'),
});
const batch: fc.Arbitrary<Batch> = fc.record({
  edgeId: id,
  seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  boot: fc.nat(),
  createdAt: ts,
  historical: fc.boolean(),
  readings: fc.array(reading, { maxLength: 200 }),
  events: fc.array(
    fc.record({
      device: id,
      type: id,
      severity: fc.constantFrom('info', 'warning', 'critical'),
      ts,
      data: fc.dictionary(
        fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
        fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 20 }), fc.constant(null)),
        {
          maxKeys: 5,
        },
      ),
    }),
    { maxLength: 5 },
  ),
});

describe('batch codec', () => {
  it('round-trips any valid batch exactly (property)', () => {
    fc.assert(
      fc.property(batch, (b) => {
        expect(decodeBatch(encodeBatch(b))).toEqual(b);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  });

  it('refuses an event data key __proto__ where the event is made (it cannot survive a decoder)', () => {
    const data = JSON.parse('{"__proto__": 1}') as Record<string, number>;
    const event = { device: 'd', type: 'sos', severity: 'critical' as const, ts: 1_760_000_000_000, data };
    expect(() => checkEvent(event)).toThrow(/__proto__ is not allowed/);
  });

  it('keeps tiny and huge floats bit-exact, and sends -0 as 0', () => {
    const values = [0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 23.4, -0.001, 1e21, 123456.789];
    for (const v of values) {
      const [m, p] = toDecimal(v);
      expect(Object.is(p === 0 ? m : m / 10 ** p, v)).toBe(true);
    }
    const b: Batch = {
      edgeId: 'e',
      seq: 1,
      boot: 1,
      createdAt: 1_700_000_000_000,
      historical: false,
      readings: values.map((v, i) => ({
        device: 'd',
        metric: `m${i}`,
        value: v,
        unit: '',
        ts: 1_700_000_000_000,
        quality: 'good',
      })),
      events: [],
    };
    const out = decodeBatch(encodeBatch(b));
    out.readings.forEach((r, i) => expect(Object.is(r.value, values[i])).toBe(true));
    const negZero = decodeBatch(encodeBatch({ ...b, readings: [{ ...b.readings[0]!, value: -0 }] }));
    expect(Object.is(negZero.readings[0]!.value, 0)).toBe(true);
  });

  it('a typical station batch costs well under 16 bytes per reading, several times less than JSON', () => {
    // 20 devices x 8 metrics, one reading each per second for 5 s, one decimal, as sensors report.
    const t0 = 1_760_000_000_000;
    const readings: Reading[] = [];
    for (let s = 0; s < 5; s++)
      for (let d = 0; d < 20; d++)
        for (let m = 0; m < 8; m++)
          readings.push({
            device: `station-07-dev-${d}`,
            metric: ['pm2_5', 'pm10', 'temperature', 'humidity', 'ph', 'do', 'turbidity', 'noise'][m]!,
            value: Math.round((20 + d + m * 3.7 + s * 0.3) * 10) / 10,
            unit: ['µg/m³', 'µg/m³', '°C', '%', '', 'mg/L', 'NTU', 'dB'][m]!,
            ts: t0 + s * 1000 + d * 3,
            quality: 'good',
          });
    const b: Batch = {
      edgeId: 'edge-07',
      seq: 42,
      boot: 3,
      createdAt: t0 + 5000,
      historical: false,
      readings,
      events: [],
    };
    const cbor = encodeBatch(b).length / readings.length;
    const json = Buffer.byteLength(JSON.stringify(b)) / readings.length;
    console.log(
      JSON.stringify({
        bench: 'codec',
        readings: readings.length,
        cbor_bytes_per_reading: cbor,
        json_bytes_per_reading: json,
      }),
    );
    expect(cbor).toBeLessThan(16);
    expect(json / cbor).toBeGreaterThan(5);
  });
});

describe('batch decode refuses bad input with a typed error', () => {
  const good: Batch = {
    edgeId: 'edge-1',
    seq: 7,
    boot: 1,
    createdAt: 1_760_000_000_000,
    historical: false,
    readings: [
      { device: 'd1', metric: 'pm2_5', value: 12.5, unit: 'µg/m³', ts: 1_760_000_000_000, quality: 'good' },
    ],
    events: [],
  };
  const bytes = encodeBatch(good);
  const raw = new Encoder({ useRecords: false });
  const expectCode = (b: Uint8Array, code: string) => {
    try {
      decodeBatch(b);
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe(code);
      return;
    }
    throw new Error('decodeBatch accepted bad input');
  };

  it('truncated', () => {
    for (let n = 0; n < bytes.length; n++)
      expect(() => decodeBatch(bytes.subarray(0, n))).toThrow(ProtocolError);
  });
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          decodeBatch(b);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('wrong types', () => {
    expectCode(
      raw.encode({ v: 1, e: 'edge-1', s: 'seven', b: 1, c: 1_760_000_000_000, h: false }),
      'bad_type',
    );
    expectCode(raw.encode([1, 2, 3]), 'bad_shape');
    expectCode(raw.encode({ v: 2 }), 'bad_shape');
  });
  it('oversized', () => expectCode(new Uint8Array(LIMITS.maxBatchBytes + 1), 'too_large'));
  // A valid one-series header; each test below breaks the reading columns in its own way.
  const wire = {
    v: 1,
    e: 'e',
    s: 1,
    b: 1,
    c: 1_760_000_000_000,
    h: false,
    d: ['d'],
    m: ['m'],
    u: [''],
    k: [0, 0, 0],
    t0: 1_760_000_000_000,
  };
  it('a million tiny readings', () => {
    const rs = new Array(1_000_000).fill(0);
    const b = raw.encode({ ...wire, rs, rt: rs, rx: rs, rp: rs });
    expect(() => decodeBatch(b)).toThrow(ProtocolError);
  });
  it('deep nesting does not overflow the process', () =>
    expectCode(new Uint8Array(200_000).fill(0x81), 'not_cbor'));
  it('index out of range and bad exponent', () => {
    expectCode(raw.encode({ ...wire, rs: [5], rt: [0], rx: [1], rp: [0] }), 'out_of_range');
    expectCode(raw.encode({ ...wire, rs: [0], rt: [0], rx: [1], rp: [99] }), 'out_of_range');
    expectCode(raw.encode({ ...wire, rs: [0], rt: [0], rx: [Number.NaN], rp: [0] }), 'out_of_range');
  });
});
