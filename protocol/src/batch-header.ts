import { Decoder } from 'cbor-x';
import { EPOCH_PATTERN, ID_PATTERN, LIMITS } from './limits.js';

const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** What can still be read of a batch that `decodeBatch` refused. */
export interface BatchHeader {
  edgeId: string;
  seq: number;
  /** The outbox epoch when readable (absent: the legacy epoch), so the rejection reaches that outbox. */
  epoch?: string;
}

/**
 * The edge id and seq of a batch that did not decode as a whole (an encoder that disagrees with
 * the decoder, a bad column), so the cloud can answer with a rejection for that seq and the edge
 * stops resending it. Undefined when not even those two can be read (not CBOR, not a map, bad
 * `e` or `s`, or over the size limit). Never throws.
 */
export function readBatchHeader(bytes: Uint8Array): BatchHeader | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length > LIMITS.maxBatchBytes) return undefined;
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { e, s, ep } = raw as Record<string, unknown>;
  if (typeof e !== 'string' || !ID_PATTERN.test(e)) return undefined;
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1) return undefined;
  const epoch = typeof ep === 'string' && EPOCH_PATTERN.test(ep) ? ep : undefined;
  return epoch === undefined ? { edgeId: e, seq: s } : { edgeId: e, seq: s, epoch };
}
