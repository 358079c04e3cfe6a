import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { LIMITS, encodeBatch, readBatchHeader } from '../src/index.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

describe('readBatchHeader: edge and seq of a batch that did not decode', () => {
  it('reads them from a good batch and from one whose columns are broken', () => {
    const good = encodeBatch({
      edgeId: 'edge-1',
      seq: 42,
      boot: 1,
      createdAt: Date.UTC(2026, 0, 1),
      historical: false,
      readings: [],
      events: [],
    });
    expect(readBatchHeader(good)).toEqual({ edgeId: 'edge-1', seq: 42 });
    expect(readBatchHeader(cbor.encode({ v: 9, e: 'edge-1', s: 7, rt: ['soon'] }))).toEqual({
      edgeId: 'edge-1',
      seq: 7,
    });
  });
  it('is undefined, never a throw, when they cannot be read', () => {
    for (const bytes of [
      Uint8Array.from([0xff, 0x00]),
      cbor.encode([1, 2]),
      cbor.encode({ e: 'edge/1', s: 3 }),
      cbor.encode({ e: 'edge-1', s: 0 }),
      cbor.encode({ e: 'edge-1', s: 1.5 }),
      cbor.encode({ e: 'edge-1' }),
      new Uint8Array(LIMITS.maxBatchBytes + 1),
    ])
      expect(readBatchHeader(bytes)).toBeUndefined();
  });
});
