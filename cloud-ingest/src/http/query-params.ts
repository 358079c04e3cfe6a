import { ApiError } from './api-error.js';

/** Query-string parsing for the API; each refusal names the parameter and the value. */

export function requireParam(query: Record<string, string | undefined>, name: string): string {
  const v = query[name];
  if (v === undefined || v === '')
    throw new ApiError(400, 'missing_param', `query parameter ${name} is required`);
  return v;
}

/** A time as ms epoch (digits) or ISO 8601. */
export function parseTime(name: string, value: string): number {
  const ms = /^\d+$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new ApiError(
      400,
      'bad_param',
      `${name} must be ms since the epoch or an ISO 8601 time, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

const STEP_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A bucket width: plain ms (`60000`) or a number with a unit (`500ms`, `10s`, `1m`, `1h`, `1d`). */
export function parseStep(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  const ms = m ? Number(m[1]) * STEP_UNITS[m[2] ?? 'ms']! : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new ApiError(
      400,
      'bad_param',
      `step must be a positive duration like 60000, 10s, 1m, 1h or 1d, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new ApiError(400, 'bad_param', `limit must be an integer 1..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
