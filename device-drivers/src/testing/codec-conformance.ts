import { isDeepStrictEqual } from 'node:util';
import type { DecodeResult, DeviceCodec } from '../codecs/codec.js';
import type { CodecExample } from './codec-examples.js';

/** One way a codec or driver broke the contract: which check, and what happened. */
export interface ConformanceFailure {
  check: string;
  message: string;
}

/** Random inputs tried per codec; seeded, so a failure reproduces. */
const RANDOM_INPUTS = 300;
const MAX_RANDOM_BYTES = 64;

/**
 * Checks a codec against the contract (codecs/codec.ts) and its examples, TTN device-repository
 * style: each example's decodeUplink result must equal its output exactly; every truncation of
 * an example and seeded random bytes must come back as a well-formed result (never a throw,
 * errors and warnings arrays of strings, data present when there are no errors, data that
 * survives JSON, i.e. no NaN, Infinity or undefined fields). Returns the failures; none means
 * the codec conforms.
 */
export function codecConformance(
  codec: DeviceCodec,
  examples: readonly CodecExample[],
): ConformanceFailure[] {
  const failures: ConformanceFailure[] = [];
  const label = `${codec.transport}/${codec.name}`;
  if (examples.length === 0) failures.push({ check: 'examples', message: `${label}: no examples` });
  for (const ex of examples) {
    const bytes = Uint8Array.from(Buffer.from(ex.input.bytes, 'hex'));
    const got = tryDecode(codec, bytes, ex.input.fPort);
    if ('thrown' in got) {
      failures.push({ check: 'example', message: `${label}: "${ex.description}" threw ${got.thrown}` });
      continue;
    }
    const want = {
      ...(ex.output.data === undefined ? {} : { data: ex.output.data }),
      errors: ex.output.errors,
      warnings: ex.output.warnings,
    };
    const actual = {
      ...(got.result.errors.length > 0 && ex.output.data === undefined ? {} : { data: got.result.data }),
      errors: got.result.errors,
      warnings: got.result.warnings,
    };
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), want)) {
      failures.push({
        check: 'example',
        message: `${label}: "${ex.description}": expected ${JSON.stringify(want)}, got ${JSON.stringify(actual)}`,
      });
    }
    // A codec that runs out of time is broken already; every further check would wait out its deadline.
    if (timedOut(got.result)) return failures;
    for (let n = 0; n < bytes.length; n++) {
      const f = wellFormed(codec, bytes.subarray(0, n), ex.input.fPort);
      if (f)
        failures.push({
          check: 'truncated',
          message: `${label}: "${ex.description}" cut to ${n} bytes: ${f}`,
        });
      if (f?.startsWith(TIMEOUT)) return failures;
    }
  }
  const fPorts = [...new Set([0, 1, 2, 223, ...examples.map((e) => e.input.fPort)])];
  const random = seeded(0x5eed ^ codec.name.length);
  for (let i = 0; i < RANDOM_INPUTS; i++) {
    const bytes = Uint8Array.from({ length: Math.floor(random() * (MAX_RANDOM_BYTES + 1)) }, () =>
      Math.floor(random() * 256),
    );
    const fPort = fPorts[i % fPorts.length]!;
    const f = wellFormed(codec, bytes, fPort);
    if (f) {
      const hex = Buffer.from(bytes).toString('hex');
      failures.push({ check: 'random', message: `${label}: bytes ${hex} fPort ${fPort}: ${f}` });
      if (f.startsWith(TIMEOUT)) return failures;
    }
  }
  const down = tryEncodeDownlink(codec);
  if (down) failures.push({ check: 'downlink', message: `${label}: ${down}` });
  return failures;
}

function tryDecode(codec: DeviceCodec, bytes: Uint8Array, fPort: number) {
  try {
    return { result: codec.decodeUplink({ bytes, fPort }) };
  } catch (err) {
    return { thrown: String((err as Error)?.message ?? err) };
  }
}

/** The code a sandboxed (JavaScript) codec's result carries when it ran out of time (codecs/js-codec.ts). */
const TIMEOUT = 'js_codec_timeout';
const timedOut = (r: DecodeResult) => Array.isArray(r.errors) && r.errors.some((e) => e.startsWith(TIMEOUT));

/**
 * Undefined when the result meets the contract, else what is wrong with it. A sandboxed codec's
 * timeout is well-formed as a result but is a failure of the codec all the same.
 */
function wellFormed(codec: DeviceCodec, bytes: Uint8Array, fPort: number): string | undefined {
  const got = tryDecode(codec, bytes, fPort);
  if ('thrown' in got) return `threw ${got.thrown}`;
  if (timedOut(got.result)) return got.result.errors.find((e) => e.startsWith(TIMEOUT));
  return resultProblem(got.result);
}

function resultProblem(r: DecodeResult): string | undefined {
  if (typeof r !== 'object' || r === null) return 'result is not an object';
  if (!Array.isArray(r.errors) || r.errors.some((e) => typeof e !== 'string'))
    return 'errors is not an array of strings';
  if (!Array.isArray(r.warnings) || r.warnings.some((w) => typeof w !== 'string'))
    return 'warnings is not an array of strings';
  if (r.errors.length > 0) return undefined;
  if (r.data === undefined) return 'no errors and no data';
  if (!survivesJson(r.data))
    return `data does not survive JSON (NaN, Infinity or undefined): ${String(r.data)}`;
  return undefined;
}

function survivesJson(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.every(survivesJson);
  if (typeof v === 'object')
    return Object.values(v as object).every((x) => x !== undefined && survivesJson(x));
  return false;
}

/** An action no codec has must be refused as errors, not thrown or encoded. */
function tryEncodeDownlink(codec: DeviceCodec): string | undefined {
  try {
    const r = codec.encodeDownlink({ data: { action: '__conformance_no_such_action__', params: {} } });
    if (!Array.isArray(r.errors) || r.errors.length === 0)
      return 'encodeDownlink accepted an unknown action without errors';
    return undefined;
  } catch (err) {
    return `encodeDownlink threw ${(err as Error).message}`;
  }
}

/** xorshift32: a small seeded generator, so a random-input failure is reproducible. */
function seeded(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}
