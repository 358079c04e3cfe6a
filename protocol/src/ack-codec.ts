import { Decoder, Encoder } from 'cbor-x';
import { ProtocolError } from './errors.js';
import { LEGACY_EPOCH } from './limits.js';
import { checkEpoch, checkTimestamp } from './reading-check.js';
import type { Ack } from './types.js';

/**
 * Ack wire format: CBOR map { a: [seq...], r: [[seq, reason]...], f: [[seq, device, reason]...],
 * ep: epoch, t: cloud time (ms) }. `f` (refused points of acked seqs), `ep` and `t` are optional, so an
 * edge and a cloud of either age read each other. Small, so bounded at 64 KiB.
 */
const MAX_ACK_BYTES = 64 * 1024;
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeAck(ack: Ack): Uint8Array {
  const wire: Record<string, unknown> = { a: ack.acked };
  if (ack.rejected.length > 0) wire.r = ack.rejected.map((x) => [x.seq, x.reason]);
  if (ack.epoch !== undefined && ack.epoch !== LEGACY_EPOCH) wire.ep = ack.epoch;
  if (ack.cloudTime !== undefined) wire.t = ack.cloudTime;
  if (ack.refused !== undefined && ack.refused.length > 0) {
    wire.f = ack.refused.map((x) => [x.seq, x.device, x.reason]);
  }
  return encoder.encode(wire);
}

export function decodeAck(bytes: Uint8Array): Ack {
  if (bytes.length > MAX_ACK_BYTES) throw new ProtocolError('too_large', 'ack', 'too large', bytes.length);
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw new ProtocolError('not_cbor', 'ack', `not valid CBOR: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { a?: unknown }).a)) {
    throw new ProtocolError('bad_shape', 'ack', 'must be a map with an array a', raw);
  }
  const w = raw as { a: unknown[]; r?: unknown; ep?: unknown; t?: unknown; f?: unknown };
  const acked = w.a.map((s, i) => seqOf(s, `a[${i}]`));
  const rejected: Ack['rejected'] = [];
  if (w.r !== undefined) {
    if (!Array.isArray(w.r)) throw new ProtocolError('bad_type', 'r', 'must be an array', w.r);
    w.r.forEach((x, i) => {
      if (!Array.isArray(x) || typeof x[1] !== 'string') {
        throw new ProtocolError('bad_shape', `r[${i}]`, 'must be [seq, reason]', x);
      }
      rejected.push({ seq: seqOf(x[0], `r[${i}][0]`), reason: x[1] });
    });
  }
  const ack: Ack = { acked, rejected };
  if (w.ep !== undefined) ack.epoch = checkEpoch(w.ep, 'ep');
  if (w.t !== undefined) ack.cloudTime = checkTimestamp(w.t, 't');
  if (w.f === undefined) return ack;
  if (!Array.isArray(w.f)) throw new ProtocolError('bad_type', 'f', 'must be an array', w.f);
  ack.refused = w.f.map((x, i) => {
    if (!Array.isArray(x) || typeof x[1] !== 'string' || typeof x[2] !== 'string') {
      throw new ProtocolError('bad_shape', `f[${i}]`, 'must be [seq, device, reason]', x);
    }
    return { seq: seqOf(x[0], `f[${i}][0]`), device: x[1], reason: x[2] };
  });
  return ack;
}

function seqOf(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProtocolError('bad_type', path, 'must be a non-negative integer seq', v);
  }
  return v;
}
