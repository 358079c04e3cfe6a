/**
 * A small seeded PRNG (mulberry32 over a 32-bit state, seeded through a string hash) so a
 * scenario with the same seed produces the same traffic byte for byte. Math.random and
 * crypto.randomBytes are never used for anything that reaches a recording.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string;
  /** A value in [min, max). */
  between(min: number, max: number): number;
}

/** FNV-1a of a string: turns a seed plus a label into an independent 32-bit stream seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A generator for `seed` and `label`: each device gets its own stream, so adding one device does not shift the others. */
export function seededRandom(seed: number | string, label = ''): SeededRandom {
  let state = hash32(`${seed}/${label}`);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    hex: (bytes) => Array.from({ length: bytes }, () => int(256).toString(16).padStart(2, '0')).join(''),
    between: (min, max) => min + next() * (max - min),
  };
}
