import { decodeChecked, framesFrom, fuzzParams, typedWithCode } from '@village/test-kit';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Batch,
  ProtocolError,
  decodeAck,
  decodeBatch,
  decodeCommand,
  decodeCommandResult,
  decodeStatus,
  encodeAck,
  encodeBatch,
  encodeJson,
  parseTopic,
} from '../src/index.js';

/**
 * Every wire decoder of the contract under random, truncated and mutated input: a value, or a
 * ProtocolError with a code, quickly. A batch that decodes is also re-encodable (the cloud may
 * store and forward what it accepted).
 */
const typed = typedWithCode(ProtocolError);
const TS = 1_800_000_000_000;
const batch: Batch = {
  edgeId: 'edge-1',
  seq: 42,
  boot: 3,
  createdAt: TS,
  historical: false,
  readings: [
    { device: 'aq-1', metric: 'pm2_5', value: 35.2, unit: 'µg/m³', ts: TS - 1000, quality: 'good' },
    { device: 'aq-1', metric: 'pm10', value: 80, unit: 'µg/m³', ts: TS - 1000, quality: 'suspect' },
    { device: 'band-1', metric: 'worn', value: true, unit: '', ts: TS - 500, quality: 'good' },
    { device: 'cam-1', metric: 'state', value: 'ok', unit: '', ts: TS, quality: 'bad' },
  ],
  events: [
    { device: 'band-1', type: 'sos', severity: 'critical', ts: TS - 400, data: { lat: 30.1, note: null } },
  ],
};
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

describe('batch codec (fuzz)', () => {
  it('random, truncated and mutated batches: a batch or ProtocolError; what decodes re-encodes', () => {
    const seeds = [encodeBatch(batch), encodeBatch({ ...batch, readings: [], historical: true })];
    for (const s of seeds) expect(decodeChecked(() => decodeBatch(s), typed, 'batch').ok).toBe(true);
    fc.assert(
      fc.property(framesFrom(seeds, 400), (bytes) => {
        const r = decodeChecked(() => decodeBatch(bytes), typed, 'batch');
        if (r.ok) decodeBatch(encodeBatch(r.value));
      }),
      fuzzParams,
    );
  });

  it('random CBOR values of the right outer shape: a batch or ProtocolError', () => {
    // Structure-aware: valid CBOR maps with batch keys and random values reach the field checks.
    const anyValue = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(
        fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.array(fc.integer(), { maxLength: 4 })),
        {
          maxLength: 6,
        },
      ),
      fc.uint8Array({ maxLength: 8 }),
    );
    const base = cbor.decode(encodeBatch(batch)) as Record<string, unknown>;
    const keys = Object.keys(base);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: keys.length }), (over) => {
        const bytes = cbor.encode({ ...base, ...over });
        decodeChecked(() => decodeBatch(bytes), typed, 'batch');
      }),
      fuzzParams,
    );
  });
});

describe('ack and control decoders (fuzz)', () => {
  const cases = [
    {
      name: 'ack',
      decode: decodeAck,
      seeds: [
        encodeAck({ acked: [1, 2, 3], rejected: [{ seq: 4, reason: 'bad' }] }),
        encodeAck({ acked: [], rejected: [] }),
      ],
    },
    {
      name: 'status',
      decode: decodeStatus,
      seeds: [
        encodeJson({
          state: 'online',
          edgeId: 'edge-1',
          boot: 3,
          ts: TS,
          version: '1.0.0',
          devices: [
            { id: 'aq-1', kind: 'aq', driver: 'modbus', metrics: [{ name: 'pm2_5', unit: 'µg/m³' }] },
          ],
        }),
        encodeJson({ state: 'offline', edgeId: 'edge-1', boot: 3 }),
      ],
    },
    {
      name: 'command',
      decode: decodeCommand,
      seeds: [
        encodeJson({ id: 'c-1', device: 'siren-1', action: 'set', params: { on: true }, expiresAt: TS }),
      ],
    },
    {
      name: 'command result',
      decode: decodeCommandResult,
      seeds: [encodeJson({ id: 'c-1', ok: false, ts: TS, error: 'timeout', data: { tries: 3 } })],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a value or ProtocolError`, () => {
      for (const s of c.seeds) expect(decodeChecked(() => c.decode(s), typed, c.name).ok).toBe(true);
      fc.assert(
        fc.property(framesFrom(c.seeds, 300), (bytes) => {
          decodeChecked(() => c.decode(bytes), typed, c.name);
        }),
        fuzzParams,
      );
    });
  }

  it('topics: a parsed topic or ProtocolError', () => {
    const seeds = ['v1/e/edge-1/up/batch', 'v1/e/edge-2/down/cmd'].map((t) => Buffer.from(t));
    fc.assert(
      fc.property(framesFrom(seeds, 60), (bytes) => {
        decodeChecked(() => parseTopic(Buffer.from(bytes).toString('utf8')), typed, 'topic');
      }),
      fuzzParams,
    );
  });
});
