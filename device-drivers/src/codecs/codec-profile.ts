import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceEvent, Reading, Severity, Value } from '@village/protocol';
import { ID_PATTERN, SEVERITIES } from '@village/protocol';
import { parse } from 'yaml';
import { z } from 'zod';
import { DEFAULT_JS_CODEC_LIMITS, type JsCodec, JsCodecError, createJsCodec } from './js-codec.js';

/**
 * A LoRaWAN or NB-IoT device profile as data (docs/vendor-guide.md): which JavaScript codec
 * decodes the device's payload, which fields of its decoded data are stored as readings (with
 * units), which boolean fields raise events, and the examples that are its tests. An edge device
 * names it with `codecProfile: <path>` (relative to edge.yaml); nothing is rebuilt.
 */
export const SHIPPED_CODEC_PROFILES_DIR = fileURLToPath(new URL('../../profiles/codecs/', import.meta.url));

/** A profile is a page of YAML and a codec a few kB of JavaScript; beyond these it is not one. */
const MAX_PROFILE_BYTES = 64 * 1024;
const MAX_SOURCE_BYTES = 256 * 1024;

const relativeFile = (ext: string) =>
  z
    .string()
    .min(1)
    .refine((f) => f.endsWith(ext), `must name a ${ext} file`);

export const codecProfileSchema = z.strictObject({
  name: z.string().regex(ID_PATTERN, 'letters, digits, . _ : - (up to 128)'),
  transport: z.enum(['lorawan', 'nbiot']),
  description: z.string().optional(),
  codec: z.strictObject({
    /** The JavaScript file, relative to the profile. */
    file: relativeFile('.js'),
    timeoutMs: z.number().int().min(1).max(1000).default(DEFAULT_JS_CODEC_LIMITS.timeoutMs),
    memoryBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .max(32 * 1024 * 1024)
      .default(DEFAULT_JS_CODEC_LIMITS.memoryBytes),
  }),
  /** The examples file (codec-examples.ts format), relative to the profile. */
  examples: relativeFile('.yaml').optional(),
  metrics: z
    .array(
      z.strictObject({
        name: z.string().regex(ID_PATTERN),
        unit: z.string().max(32),
        /** Field of the decoded data holding the value; the metric's name when omitted. */
        field: z.string().min(1).optional(),
      }),
    )
    .min(1),
  events: z
    .array(
      z.strictObject({
        /** A boolean field of the decoded data: its rising edge (false → true) raises the event. */
        when: z.string().min(1),
        type: z.string().regex(ID_PATTERN),
        severity: z.enum(SEVERITIES as [Severity, ...Severity[]]),
      }),
    )
    .default([]),
});

export type CodecProfileSpec = z.infer<typeof codecProfileSchema>;

/** A profile that cannot be used; names the file and the field. */
export class CodecProfileError extends Error {
  override readonly name = 'CodecProfileError';
  readonly code: string;
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    message: string,
    code = 'bad_codec_profile',
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${message}`);
    this.code = code;
  }
}

export interface CodecProfile {
  file: string;
  spec: CodecProfileSpec;
  codec: JsCodec;
  /** Absolute path of the examples file, when the profile names one. */
  examplesFile?: string;
  /** Decoded data → readings and events; `active` holds the device's raised event flags. */
  toTelemetry(
    data: unknown,
    device: string,
    ts: number,
    active: Set<string>,
  ): { readings: Reading[]; events: DeviceEvent[] };
}

/** Reads and validates a profile and compiles its codec; throws CodecProfileError naming file and field. */
export function loadCodecProfile(file: string): CodecProfile {
  const abs = path.resolve(file);
  const text = readText(abs, MAX_PROFILE_BYTES, undefined);
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new CodecProfileError(abs, undefined, `not valid YAML: ${(err as Error).message}`);
  }
  const r = codecProfileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new CodecProfileError(abs, issue.path.join('.') || undefined, issue.message);
  }
  const spec = r.data;
  const dir = path.dirname(abs);
  const codecFile = path.resolve(dir, spec.codec.file);
  const source = readText(codecFile, MAX_SOURCE_BYTES, 'codec.file');
  let codec: JsCodec;
  try {
    codec = createJsCodec({
      name: spec.name,
      transport: spec.transport,
      source,
      file: codecFile,
      limits: { timeoutMs: spec.codec.timeoutMs, memoryBytes: spec.codec.memoryBytes },
    });
  } catch (err) {
    if (err instanceof JsCodecError) throw new CodecProfileError(abs, 'codec.file', err.message, err.code);
    throw err;
  }
  return {
    file: abs,
    spec,
    codec,
    ...(spec.examples === undefined ? {} : { examplesFile: path.resolve(dir, spec.examples) }),
    toTelemetry: (data, device, ts, active) => profileTelemetry(spec, data, device, ts, active),
  };

  function readText(f: string, max: number, field: string | undefined): string {
    let t: string;
    try {
      t = readFileSync(f, 'utf8');
    } catch (err) {
      throw new CodecProfileError(field ? abs : f, field, `cannot read ${f}: ${(err as Error).message}`);
    }
    if (t.length > max) throw new CodecProfileError(abs, field, `${f} is larger than ${max} bytes`);
    return t;
  }
}

/** Short strings only: a reading's value is a measurement, not a document. */
const MAX_STRING_VALUE = 128;

function profileTelemetry(
  spec: CodecProfileSpec,
  raw: unknown,
  device: string,
  ts: number,
  active: Set<string>,
): { readings: Reading[]; events: DeviceEvent[] } {
  const data = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const readings: Reading[] = [];
  for (const m of spec.metrics) {
    const v = data[m.field ?? m.name];
    // A field the codec left out (not measured this time) or of a type a reading cannot hold is skipped.
    if (!isValue(v)) continue;
    readings.push({ device, metric: m.name, value: v, unit: m.unit, ts, quality: 'good' });
  }
  const events: DeviceEvent[] = [];
  for (const e of spec.events) {
    const on = data[e.when] === true;
    const was = active.has(e.when);
    if (on) active.add(e.when);
    else active.delete(e.when);
    if (on && !was)
      events.push({ device, type: e.type, severity: e.severity, ts, data: eventData(spec, data) });
  }
  return { readings, events };
}

function isValue(v: unknown): v is Value {
  return (
    (typeof v === 'number' && Number.isFinite(v)) ||
    typeof v === 'boolean' ||
    (typeof v === 'string' && v.length <= MAX_STRING_VALUE)
  );
}

/** An event carries the profile's numeric metrics of the same uplink, for context. */
function eventData(spec: CodecProfileSpec, data: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of spec.metrics) {
    const v = data[m.field ?? m.name];
    if (typeof v === 'number' && Number.isFinite(v)) out[m.name] = v;
  }
  return out;
}
