import {
  type QuickJSContext,
  type QuickJSRuntime,
  RELEASE_SYNC,
  newQuickJSWASMModule,
  newVariant,
} from 'quickjs-emscripten';
import { z } from 'zod';
import type { CodecTransport, DecodeResult, DeviceCodec, DownlinkResult } from './codec.js';

/**
 * A codec shipped as data: a JavaScript file with TTN / ChirpStack-style `decodeUplink(input)`
 * (and optionally `encodeDownlink(input)`), run in QuickJS compiled to WebAssembly. The vendor's
 * code sees only its input: no require, no process, no clock beyond Date, no I/O. Each call has
 * a deadline and the runtime a memory limit; a throw, a timeout, running out of memory or a
 * result of the wrong shape comes back as the contract's `errors`, the first word of which is a
 * code (`js_codec_timeout: ...`), and never stops the driver. After a timeout or out-of-memory
 * the sandbox is thrown away and rebuilt from the source, so one bad frame cannot poison the next.
 */
/**
 * The WebAssembly heap every JavaScript codec on this edge shares, bytes. It is the hard bound:
 * this QuickJS build cannot measure its allocations (no malloc_usable_size), so a runtime's
 * `setMemoryLimit` counts allocations rather than bytes and refuses only a single allocation
 * above it; a codec hoarding large buffers is stopped by this cap instead (out of memory), and
 * its runtime is thrown away, giving the heap back to the others. WebAssembly memory never
 * shrinks, so this is also what the sandbox can cost the edge box at most.
 */
export const JS_CODEC_HEAP_BYTES = 64 * 1024 * 1024;
// Node has WebAssembly, but the project's libs (ES2023 + node types) do not declare it: the part used here.
declare const WebAssembly: {
  Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
};
const PAGE = 64 * 1024;
const wasmMemory = new WebAssembly.Memory({
  initial: (16 * 1024 * 1024) / PAGE,
  maximum: JS_CODEC_HEAP_BYTES / PAGE,
});
const QuickJS = await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmMemory }));

/** Bytes the shared sandbox heap has grown to (for tests and /metrics). */
export function jsCodecHeapBytes(): number {
  return wasmMemory.buffer.byteLength;
}

export type JsCodecErrorCode =
  | 'js_codec_compile'
  | 'js_codec_missing_function'
  | 'js_codec_throw'
  | 'js_codec_timeout'
  | 'js_codec_memory'
  | 'js_codec_bad_result';

export interface JsCodecLimits {
  /** Longest one decodeUplink / encodeDownlink call may run, ms. */
  timeoutMs: number;
  /** Memory the sandbox may allocate, bytes. */
  memoryBytes: number;
}

export const DEFAULT_JS_CODEC_LIMITS: JsCodecLimits = { timeoutMs: 100, memoryBytes: 16 * 1024 * 1024 };

/** A JS codec that cannot be loaded (does not compile, lacks decodeUplink): a config problem. */
export class JsCodecError extends Error {
  override readonly name = 'JsCodecError';
  constructor(
    readonly code: JsCodecErrorCode,
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${code}: ${message}`);
  }
}

export interface JsCodec extends DeviceCodec {
  /** Frees the sandbox; the codec stays usable (a later call builds a new one). */
  dispose(): void;
  /** Calls that failed in the sandbox, by code (also in each result's errors). */
  readonly faults: Readonly<Record<string, number>>;
}

/** Largest result a codec may hand back (JSON), characters: a decoded uplink is a few fields. */
const MAX_RESULT_CHARS = 64 * 1024;
const MAX_STACK_BYTES = 512 * 1024;
/** Deadline of the file's top-level code, ms. */
const LOAD_TIMEOUT_MS = 1000;

const decodeSchema = z.object({
  data: z.unknown().optional(),
  errors: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});
const encodeSchema = z.object({
  bytes: z.array(z.number().int().min(0).max(255)).max(256).optional(),
  fPort: z.number().int().min(1).max(223).optional(),
  errors: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});

interface Sandbox {
  runtime: QuickJSRuntime;
  vm: QuickJSContext;
  hasEncoder: boolean;
}

/**
 * Compiles `source` once to see that it loads (throws JsCodecError: a config problem, found at
 * start), then serves calls from a sandbox built on demand.
 */
export function createJsCodec(opts: {
  name: string;
  transport: CodecTransport;
  source: string;
  /** Labels errors and stack traces. */
  file: string;
  limits?: Partial<JsCodecLimits>;
}): JsCodec {
  const limits = { ...DEFAULT_JS_CODEC_LIMITS, ...opts.limits };
  const faults: Record<string, number> = {};
  let box: Sandbox | undefined = build(opts.source, opts.file, limits);

  const dispose = () => {
    if (!box) return;
    box.vm.dispose();
    box.runtime.dispose();
    box = undefined;
  };

  /** Runs `fn(input)` in the sandbox; its JSON result, or a coded error. */
  const call = (
    fn: string,
    input: unknown,
  ): { json: unknown } | { code: JsCodecErrorCode; message: string } => {
    box ??= build(opts.source, opts.file, limits);
    const { runtime, vm } = box;
    const deadline = Date.now() + limits.timeoutMs;
    let timedOut = false;
    runtime.setInterruptHandler(() => {
      if (Date.now() > deadline) timedOut = true;
      return timedOut;
    });
    const r = vm.evalCode(
      `JSON.stringify(${fn}(JSON.parse(${JSON.stringify(JSON.stringify(input))})))`,
      `${opts.file}#${fn}`,
    );
    runtime.removeInterruptHandler();
    if (r.error) {
      const err = vm.dump(r.error) as { name?: string; message?: string } | string;
      r.error.dispose();
      // Out of memory with no room left even for the error object leaves the exception null;
      // a vendor's own `throw null` is reported the same way (it is a bug in the codec either way).
      const oom = err === null || (typeof err === 'object' && err.message === 'out of memory');
      const message = typeof err === 'object' && err !== null ? `${err.name}: ${err.message}` : String(err);
      if (timedOut || oom || /stack overflow/.test(message)) {
        // The sandbox may hold half-built state (or a full heap): start the next call afresh.
        dispose();
        return timedOut
          ? { code: 'js_codec_timeout', message: `${fn} ran longer than ${limits.timeoutMs} ms` }
          : {
              code: 'js_codec_memory',
              message: `${fn}: ${oom ? 'out of memory' : message} (limit ${limits.memoryBytes} bytes)`,
            };
      }
      return { code: 'js_codec_throw', message: `${fn} threw ${message}` };
    }
    const text = vm.typeof(r.value) === 'string' ? vm.getString(r.value) : undefined;
    r.value.dispose();
    if (text === undefined) return { code: 'js_codec_bad_result', message: `${fn} returned nothing` };
    if (text.length > MAX_RESULT_CHARS)
      return { code: 'js_codec_bad_result', message: `${fn} returned ${text.length} characters` };
    return { json: JSON.parse(text) };
  };

  const fault = (code: JsCodecErrorCode, message: string) => {
    faults[code] = (faults[code] ?? 0) + 1;
    return `${code}: ${opts.name}: ${message}`;
  };

  return {
    transport: opts.transport,
    name: opts.name,
    faults,
    dispose,
    decodeUplink({ bytes, fPort }): DecodeResult {
      const out = call('decodeUplink', { bytes: Array.from(bytes), fPort });
      if ('code' in out) return { errors: [fault(out.code, out.message)], warnings: [] };
      const parsed = decodeSchema.safeParse(out.json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return {
          errors: [
            fault('js_codec_bad_result', `decodeUplink result ${issue.path.join('.')}: ${issue.message}`),
          ],
          warnings: [],
        };
      }
      const { data, errors = [], warnings = [] } = parsed.data;
      if (errors.length === 0 && (data === undefined || data === null || typeof data !== 'object'))
        return { errors: [fault('js_codec_bad_result', 'decodeUplink returned no data object')], warnings };
      return errors.length > 0 ? { errors, warnings } : { data, errors, warnings };
    },
    encodeDownlink(input): DownlinkResult {
      box ??= build(opts.source, opts.file, limits);
      if (!box.hasEncoder)
        return { errors: [`${opts.name}: no encodeDownlink in ${opts.file}; send raw bytes`], warnings: [] };
      const out = call('encodeDownlink', input);
      if ('code' in out) return { errors: [fault(out.code, out.message)], warnings: [] };
      const parsed = encodeSchema.safeParse(out.json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return {
          errors: [
            fault('js_codec_bad_result', `encodeDownlink result ${issue.path.join('.')}: ${issue.message}`),
          ],
          warnings: [],
        };
      }
      const { bytes, fPort, errors = [], warnings = [] } = parsed.data;
      if (errors.length > 0) return { errors, warnings };
      if (bytes === undefined)
        return { errors: [fault('js_codec_bad_result', 'encodeDownlink returned no bytes')], warnings };
      return { bytes, ...(fPort === undefined ? {} : { fPort }), errors, warnings };
    },
  };
}

/** A fresh runtime and context with the vendor's source evaluated in it. */
function build(source: string, file: string, limits: JsCodecLimits): Sandbox {
  const runtime = QuickJS.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  const vm = runtime.newContext();
  const fail = (code: JsCodecErrorCode, message: string): never => {
    vm.dispose();
    runtime.dispose();
    throw new JsCodecError(code, file, message);
  };
  // Top-level code runs under a deadline too (a file that loops at load is refused), a longer
  // one than a call's: it runs once, on a cold sandbox, at start.
  const deadline = Date.now() + Math.max(limits.timeoutMs, LOAD_TIMEOUT_MS);
  runtime.setInterruptHandler(() => Date.now() > deadline);
  const r = vm.evalCode(source, file);
  runtime.removeInterruptHandler();
  if (r.error) {
    const err = vm.dump(r.error) as { name?: string; message?: string; stack?: string };
    r.error.dispose();
    return fail(
      'js_codec_compile',
      `${err?.name}: ${err?.message}${err?.stack ? ` (${err.stack.trim()})` : ''}`,
    );
  }
  r.value.dispose();
  const kind = (name: string) => {
    const h = vm.getProp(vm.global, name);
    const t = vm.typeof(h);
    h.dispose();
    return t;
  };
  if (kind('decodeUplink') !== 'function')
    fail('js_codec_missing_function', 'defines no function decodeUplink(input)');
  return { runtime, vm, hasEncoder: kind('encodeDownlink') === 'function' };
}
