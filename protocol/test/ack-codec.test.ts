import { encode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { decodeAck, encodeAck } from '../src/ack-codec.js';

describe('ack codec', () => {
  it('round-trips refused points of acked seqs (key f)', () => {
    const ack = {
      acked: [7],
      rejected: [{ seq: 8, reason: 'bad_seq' }],
      refused: [{ seq: 7, device: 'wb-2', reason: 'not_owner: device wb-2 is registered to another edge' }],
    };
    expect(decodeAck(encodeAck(ack))).toEqual(ack);
  });
  it('reads an ack without f as before, and refuses a malformed f with a typed error', () => {
    expect(decodeAck(encodeAck({ acked: [1], rejected: [] }))).toEqual({ acked: [1], rejected: [] });
    expect(() => decodeAck(encode({ a: [1], f: [[1, 2]] }))).toThrow(/f\[0\]/);
    expect(() => decodeAck(encode({ a: [1], f: 'x' }))).toThrow(
      expect.objectContaining({ code: 'bad_type' }),
    );
  });
});
