import { decodeChecked, framesFrom, fuzzParams, typedWithCode } from '@village/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, encodeUplink, parseUplink, verifyUplink } from '../src/nbiot/uplink-envelope.js';

/**
 * The NB-IoT uplink envelope in both body formats (CBOR, JSON) under random, truncated and
 * mutated bodies: parse and MAC check return or throw EnvelopeError with a code, quickly.
 */
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const IMEI = '861234567890123';
const typed = typedWithCode(EnvelopeError);

for (const format of ['cbor', 'json'] as const) {
  describe(`NB-IoT envelope, ${format} (fuzz)`, () => {
    it('random, truncated and mutated bodies: an uplink or EnvelopeError', () => {
      const seeds = [
        encodeUplink(KEY, IMEI, { counter: 1, payload: Buffer.from('0102030405060708', 'hex') }, format),
        encodeUplink(
          KEY,
          IMEI,
          { counter: 2 ** 40, payload: Buffer.alloc(16, 7), ackId: 'cmd-1', ackError: 'busy' },
          format,
        ),
      ];
      for (const s of seeds)
        expect(decodeChecked(() => verifyUplink(KEY, IMEI, parseUplink(s, format)), typed, format).ok).toBe(
          true,
        );
      fc.assert(
        fc.property(framesFrom(seeds, 300), (body) => {
          decodeChecked(() => verifyUplink(KEY, IMEI, parseUplink(body, format)), typed, format);
        }),
        fuzzParams,
      );
    });
  });
}
