import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

/**
 * The one shape of every decoder fuzz test (issue 14): inputs are random bytes, truncations of
 * valid frames and small mutations of valid frames; each decode must return, or throw the
 * decoder's own typed error with a code, and must do so quickly. The seed and the run count are
 * fixed so CI runs the same cases every time; FUZZ_RUNS raises the count for a longer local hunt
 * (`FUZZ_RUNS=20000 npx vitest run test/fuzz-*.test.ts --testTimeout 120000`).
 * The one copy: protocol's and device-drivers' fuzz tests import it from `@village/test-kit`.
 */
export const FUZZ_SEED = 20261201;
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 400);
/**
 * A decode slower than this is a hang in the making (a real frame decodes in well under 1 ms).
 * Generous, so a loaded 2-core CI machine never trips it; a quadratic blow-up or a loop does.
 */
export const MAX_DECODE_MS = 250;

export const fuzzParams = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS } as const;

type Mutation = { at: number; op: 'flip' | 'set' | 'insert' | 'delete'; byte: number };

function mutate(seed: Uint8Array, ops: Mutation[]): Uint8Array {
  const out = [...seed];
  for (const m of ops) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.op === 'insert' ? 1 : 0));
    if (m.op === 'flip' && out.length > 0) out[at] = out[at]! ^ (1 << (m.byte % 8));
    else if (m.op === 'set' && out.length > 0) out[at] = m.byte;
    else if (m.op === 'insert') out.splice(at, 0, m.byte);
    else if (m.op === 'delete') out.splice(at, 1);
  }
  return Uint8Array.from(out);
}

/** Random bytes, truncations of a valid frame, and mutations (bit flips, byte sets, inserts, deletes). */
export function framesFrom(valid: readonly Uint8Array[], maxRandom = 512): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...valid);
  const mutation = fc.record({
    at: fc.nat(),
    op: fc.constantFrom('flip', 'set', 'insert', 'delete') as fc.Arbitrary<Mutation['op']>,
    byte: fc.integer({ min: 0, max: 255 }),
  });
  return fc.oneof(
    fc.uint8Array({ maxLength: maxRandom }),
    fc.tuple(seed, fc.nat()).map(([s, n]) => s.subarray(0, n % (s.length + 1))),
    fc.tuple(seed, fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([s, ops]) => mutate(s, ops)),
    fc.tuple(seed, fc.uint8Array({ maxLength: 64 })).map(([s, tail]) => Uint8Array.from([...s, ...tail])),
  );
}

/**
 * Text inputs for text decoders (XML, JSON): the byte inputs above read as UTF-8, plus random
 * strings and valid documents with a random string spliced in.
 */
export function textsFrom(valid: readonly string[]): fc.Arbitrary<string> {
  const bytes = framesFrom(valid.map((v) => Buffer.from(v)));
  return fc.oneof(
    bytes.map((b) => Buffer.from(b).toString('utf8')),
    fc.string({ maxLength: 200, unit: 'binary' }),
    fc
      .tuple(fc.constantFrom(...valid), fc.nat(), fc.string({ maxLength: 40, unit: 'binary' }))
      .map(([v, at, s]) => v.slice(0, at % (v.length + 1)) + s + v.slice(at % (v.length + 1))),
  );
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs one decode under the rules: returns the value, or the typed error; anything else
 * (another exception type, a typed error without a code, a slow decode) throws, which makes
 * fast-check shrink the input and report it.
 */
export function decodeChecked<T>(
  decode: () => T,
  isTyped: (err: unknown) => boolean,
  what: string,
): Outcome<T> {
  const t0 = performance.now();
  let out: Outcome<T>;
  try {
    out = { ok: true, value: decode() };
  } catch (err) {
    if (!isTyped(err)) {
      throw new Error(`${what}: untyped ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
    }
    out = { ok: false, error: err };
  }
  const ms = performance.now() - t0;
  if (ms > MAX_DECODE_MS) throw new Error(`${what}: one decode took ${ms.toFixed(0)} ms`);
  return out;
}

/** True for `err instanceof cls` with a non-empty string `code`. */
export function typedWithCode(cls: abstract new (...args: never[]) => Error) {
  return (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    return err instanceof cls && typeof code === 'string' && code !== '';
  };
}
