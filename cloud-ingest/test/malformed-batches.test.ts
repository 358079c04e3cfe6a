import { randomBytes } from 'node:crypto';
import { LIMITS, encodeBatch } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { Encoder } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestCloud,
  collectAcks,
  counterValue,
  makeBatch,
  publishBatch,
  startTestCloud,
  waitForAck,
} from './cloud-fixture.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const good = encodeBatch(makeBatch('edge-1', 1, 3));
/** The wire map of a good batch, to break one field at a time. */
const wire = () => ({
  v: 1,
  e: 'edge-1',
  s: 5,
  b: 1,
  c: Date.UTC(2026, 0, 1),
  h: false,
  d: ['pm-1'],
  m: ['pm25'],
  u: ['ug'],
  k: [0, 0, 0],
  t0: Date.UTC(2026, 0, 1),
  rs: [0],
  rt: [0],
  rx: [1],
  rp: [0],
});

/** `rejects`: the seq still readable from the broken batch, which the cloud rejects in an ack. */
const CASES: { name: string; bytes: () => Uint8Array; code: string; rejects?: number }[] = [
  { name: 'truncated', bytes: () => good.subarray(0, good.length - 7), code: 'not_cbor' },
  // 0xff is a CBOR "break" outside any indefinite item: never valid as a first byte.
  {
    name: 'random bytes',
    bytes: () => Buffer.concat([Buffer.from([0xff]), randomBytes(2000)]),
    code: 'not_cbor',
  },
  {
    name: 'a string where a number belongs',
    bytes: () => cbor.encode({ ...wire(), rt: ['soon'] }),
    code: 'bad_type',
    rejects: 5,
  },
  { name: 'a CBOR array instead of a map', bytes: () => cbor.encode([1, 2, 3]), code: 'bad_shape' },
  {
    name: 'oversized (over LIMITS.maxBatchBytes)',
    bytes: () => Buffer.concat([good, Buffer.alloc(LIMITS.maxBatchBytes + 1 - good.length)]),
    code: 'too_large',
  },
  {
    name: 'a million tiny readings under rs',
    bytes: () => cbor.encode({ ...wire(), rs: new Array(1_000_000).fill(0) }),
    code: 'too_many',
    rejects: 5,
  },
];

describe('malformed batches', { timeout: 60_000 }, () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(async () => {
    await t.stop();
  });

  let seq = 0;
  for (const c of CASES) {
    it(`keeps ${c.name} as a dead letter (counted, logged), then commits the next good batch`, async () => {
      const edge = await t.connectEdge('edge-1');
      const acks = await collectAcks(edge, 'edge-1');
      const before = await counterValue(t.cloud.metrics.batches, { result: 'malformed', code: c.code });
      const bytes = c.bytes();
      expect(bytes.length).toBeLessThan(LIMITS.maxBatchBytes + 64 * 1024);
      await publishBatch(edge, 'edge-1', bytes);
      seq += 1;
      await publishBatch(
        edge,
        'edge-1',
        makeBatch('edge-1', seq, 4, {}, Date.UTC(2026, 1, 1) + seq * 100_000),
      );
      await waitForAck(acks, seq);
      expect(await counterValue(t.cloud.metrics.batches, { result: 'malformed', code: c.code })).toBe(
        before + 1,
      );
      const line = await waitFor('the dead-letter log line', () =>
        t.logs.find(
          (l) =>
            l.msg === 'malformed batch kept as a dead letter' &&
            l.code === c.code &&
            l.bytes === bytes.length,
        ),
      );
      expect(line.edge).toBe('edge-1');
      expect(typeof line.path).toBe('string');
      // Nothing of the malformed batch was acked as stored: it was rejected when its seq could be read.
      expect(line.seq).toBe(c.rejects ?? null);
      const rejection =
        c.rejects === undefined
          ? []
          : [
              {
                acked: [],
                rejected: [{ seq: c.rejects, reason: expect.any(String) }],
                cloudTime: expect.any(Number),
              },
            ];
      expect(acks).toEqual([...rejection, { acked: [seq], rejected: [], cloudTime: expect.any(Number) }]);
      const letter = t.cloud.db
        .prepare('SELECT reason, seq, length(bytes) AS size FROM dead_letters WHERE id = ?')
        .get(line.deadLetter);
      expect(letter).toEqual({ reason: c.code, seq: c.rejects ?? null, size: bytes.length });
      const n = t.cloud.db.prepare('SELECT COUNT(*) AS n FROM readings').get() as { n: number };
      expect(n.n).toBe(seq * 4);
      await edge.endAsync();
    });
  }
});
