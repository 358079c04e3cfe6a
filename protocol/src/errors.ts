/**
 * Typed decode/validation error. `code` is stable (metrics label it), `path` says where,
 * `value` shows what was found (truncated so a log line stays small).
 */
export type ProtocolErrorCode =
  | 'too_large'
  | 'not_cbor'
  | 'bad_shape'
  | 'bad_type'
  | 'out_of_range'
  | 'too_many'
  | 'bad_topic'
  | 'bad_json';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    readonly path: string,
    message: string,
    readonly value?: unknown,
  ) {
    super(`${path}: ${message}${value === undefined ? '' : ` (got ${preview(value)})`}`);
  }
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
