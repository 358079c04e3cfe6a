/**
 * Typed errors of the rules library. `code` is stable so a runtime can count and map them
 * (config errors at start-up, 404/409 for incident commands, a counter for bad input).
 */
export type RulesErrorCode =
  | 'bad_config'
  | 'bad_value'
  | 'out_of_range'
  | 'unknown_incident'
  | 'bad_transition'
  | 'missing_note'
  | 'missing_outcome';

export class RulesError extends Error {
  override readonly name = 'RulesError';
  constructor(
    readonly code: RulesErrorCode,
    /** Where: a config path, a pollutant, an incident id. */
    readonly path: string,
    message: string,
    readonly value?: unknown,
  ) {
    super(`${path}: ${message}${value === undefined ? '' : ` (got ${preview(value)})`}`);
  }
}

function preview(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) s = String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
