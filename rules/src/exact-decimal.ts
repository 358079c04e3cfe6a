import { RulesError } from './errors.js';

/**
 * A non-negative finite number read as the decimal it prints as: value = n / 10^scale.
 * The AQI formula is evaluated on these with BigInt so that a concentration sitting exactly
 * on a breakpoint (e.g. PM2.5 = 75, CO = 4.0, or 0.1 + 0.2 style inputs that print as 0.3)
 * can never be pushed up one IAQI point by binary floating-point error before the ceil.
 */
export interface ExactDecimal {
  n: bigint;
  scale: number;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

export function toExactDecimal(value: number, path: string): ExactDecimal {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RulesError('bad_value', path, 'must be a finite number', value);
  }
  if (value < 0) throw new RulesError('out_of_range', path, 'must not be negative', value);
  // String(x) is the shortest decimal that round-trips to x (ECMA-262 Number::toString).
  const m = DECIMAL.exec(String(value));
  if (!m) throw new RulesError('bad_value', path, 'cannot be read as a decimal', value);
  const frac = m[2] ?? '';
  const exp = m[3] ? Number(m[3]) : 0;
  let n = BigInt(m[1] + frac);
  let scale = frac.length - exp;
  if (scale < 0) {
    n *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { n, scale };
}

/** ceil(num / den) for num >= 0, den > 0. */
export function ceilDiv(num: bigint, den: bigint): bigint {
  return (num + den - 1n) / den;
}

/**
 * Round to `digits` decimal places by GB/T 8170-2008 (数值修约规则): a dropped part below half
 * is dropped, above half carries one, and exactly half carries only when the kept last digit is
 * odd ("四舍六入五成双"). Done on the decimal the number prints as, so 0.35 → 0.4 and 1.05 → 1.0
 * as the standard's own examples say (binary floating point would give 0.3 and 1.1).
 */
export function roundHalfEven(d: ExactDecimal, digits: number): ExactDecimal {
  if (d.scale <= digits) return d;
  const div = 10n ** BigInt(d.scale - digits);
  let q = d.n / div;
  const r = d.n % div;
  const twice = r * 2n;
  if (twice > div || (twice === div && q % 2n === 1n)) q += 1n;
  return { n: q, scale: digits };
}

/** The number an ExactDecimal stands for (exact for the few digits a concentration keeps). */
export function exactToNumber(d: ExactDecimal): number {
  return Number(`${d.n}e-${d.scale}`);
}
