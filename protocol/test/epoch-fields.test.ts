import { Decoder, Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import {
  type Batch,
  ProtocolError,
  decodeAck,
  decodeBatch,
  decodeStatus,
  encodeAck,
  encodeBatch,
  encodeJson,
} from '../src/index.js';

const T0 = Date.UTC(2026, 0, 1);
const EPOCH = '0123456789abcdef0123456789abcdef';
const batch = (extra: Partial<Batch> = {}): Batch => ({
  edgeId: 'edge-1',
  seq: 3,
  boot: 2,
  createdAt: T0,
  historical: false,
  readings: [{ device: 'd', metric: 'm', value: 1.5, unit: '', ts: T0, quality: 'good' }],
  events: [],
  ...extra,
});
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  return undefined;
};

describe('outbox epoch on the wire, backward compatible', () => {
  it('carries the epoch in a batch', () => {
    expect(decodeBatch(encodeBatch(batch({ epoch: EPOCH }))).epoch).toBe(EPOCH);
  });

  it('decodes a batch of an edge from before epochs, with no epoch (the legacy stream)', () => {
    const bytes = encodeBatch(batch());
    const wire = new Decoder({ mapsAsObjects: true }).decode(bytes) as Record<string, unknown>;
    expect(wire.ep).toBeUndefined(); // the bytes an old edge sends
    expect(decodeBatch(bytes)).toEqual(batch());
    expect(decodeBatch(encodeBatch(batch({ epoch: '' }))).epoch).toBeUndefined();
  });

  it('refuses a malformed epoch with a typed error naming the field', () => {
    const enc = new Encoder({ useRecords: false, mapsAsObjects: true });
    const wire = new Decoder({ mapsAsObjects: true }).decode(encodeBatch(batch())) as Record<string, unknown>;
    for (const bad of [42, 'has space', 'x'.repeat(65), '']) {
      expect(codeOf(() => decodeBatch(enc.encode({ ...wire, ep: bad })))).toMatch(/^bad_(type|shape)$/);
    }
    expect(() => decodeBatch(enc.encode({ ...wire, ep: 'no/slash' }))).toThrow(/^ep: /);
  });

  it("carries the ack's epoch and the cloud's time, and reads an ack without them", () => {
    const ack = { acked: [1, 2], rejected: [], epoch: EPOCH, cloudTime: T0 + 5 };
    expect(decodeAck(encodeAck(ack))).toEqual(ack);
    expect(decodeAck(encodeAck({ acked: [1], rejected: [] }))).toEqual({ acked: [1], rejected: [] });
    const enc = new Encoder({ useRecords: false, mapsAsObjects: true });
    expect(codeOf(() => decodeAck(enc.encode({ a: [1], t: 'now' })))).toBe('bad_type');
    expect(codeOf(() => decodeAck(enc.encode({ a: [1], ep: 7 })))).toBe('bad_type');
  });

  it('carries the epoch in the birth and the will, optional', () => {
    const birth = {
      state: 'online' as const,
      edgeId: 'edge-1',
      boot: 2,
      epoch: EPOCH,
      ts: T0,
      version: '0.1.0',
      devices: [],
      clockOffsetS: -0.25,
    };
    expect(decodeStatus(encodeJson(birth))).toEqual(birth);
    const { epoch: _e, clockOffsetS: _c, ...old } = birth;
    expect(decodeStatus(encodeJson(old))).toEqual(old);
    expect(codeOf(() => decodeStatus(encodeJson({ ...birth, epoch: 'a b' })))).toBe('bad_shape');
    expect(codeOf(() => decodeStatus(encodeJson({ ...birth, clockOffsetS: 'x' } as never)))).toBe('bad_type');
  });

  it('carries the session number (bdSeq) in the birth and the will, optional, a non-negative integer', () => {
    const birth = {
      state: 'online' as const,
      edgeId: 'edge-1',
      boot: 2,
      ts: T0,
      version: '0.1.0',
      devices: [],
    };
    expect(decodeStatus(encodeJson({ ...birth, bdSeq: 3 }))).toEqual({ ...birth, bdSeq: 3 });
    const will = { state: 'offline' as const, edgeId: 'edge-1', boot: 2, bdSeq: 3 };
    expect(decodeStatus(encodeJson(will))).toEqual(will);
    for (const bad of [-1, 1.5, '3'])
      expect(codeOf(() => decodeStatus(encodeJson({ ...will, bdSeq: bad } as never)))).toBe('bad_type');
  });
});
