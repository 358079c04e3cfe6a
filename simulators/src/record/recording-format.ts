import { type WriteStream, createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';

/**
 * The recording format (docs/simulators.md): JSON lines. Line 1 is the header; every other line
 * is one frame a device put on the wire, in send order:
 *   {"t":<scenario ms>,"proto":"modbus|lorawan|nbiot|camera|link","target":"<station>/<device>","bytes":"<base64>","meta":{...}}
 * Keys are written in a fixed order and nothing wall-clock based is written, so the same
 * scenario and seed give the same file, byte for byte.
 */
export const RECORDING_FORMAT = 'village-sim-recording';
export const RECORDING_VERSION = 1;
/** A line longer than this is refused (a camera snapshot is the largest thing a frame carries). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export const PROTOS = ['modbus', 'lorawan', 'nbiot', 'camera', 'link'] as const;
export type Proto = (typeof PROTOS)[number];

const modbusMeta = z.strictObject({
  unitId: z.number().int().min(0).max(255),
  profile: z.string().min(1),
  table: z.enum(['coil', 'discrete-input', 'holding', 'input']),
  address: z.number().int().min(0).max(65535),
});
const lorawanMeta = z.strictObject({ freqMHz: z.number(), datr: z.string() });
const nbiotMeta = z.strictObject({ imei: z.string().regex(/^[0-9]{15}$/), format: z.enum(['cbor', 'json']) });
const cameraMeta = z.strictObject({ path: z.string().startsWith('/'), contentType: z.string().min(1) });
const linkMeta = z.strictObject({ state: z.enum(['down', 'up']) });

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const frameSchema = z.discriminatedUnion('proto', [
  z.strictObject({
    t: z.number().int().min(0),
    proto: z.literal('modbus'),
    target: z.string(),
    bytes: base64,
    meta: modbusMeta,
  }),
  z.strictObject({
    t: z.number().int().min(0),
    proto: z.literal('lorawan'),
    target: z.string(),
    bytes: base64,
    meta: lorawanMeta,
  }),
  z.strictObject({
    t: z.number().int().min(0),
    proto: z.literal('nbiot'),
    target: z.string(),
    bytes: base64,
    meta: nbiotMeta,
  }),
  z.strictObject({
    t: z.number().int().min(0),
    proto: z.literal('camera'),
    target: z.string(),
    bytes: base64,
    meta: cameraMeta,
  }),
  z.strictObject({
    t: z.number().int().min(0),
    proto: z.literal('link'),
    target: z.string(),
    bytes: base64,
    meta: linkMeta,
  }),
]);
export type Frame = z.infer<typeof frameSchema>;

const stationInfo = z.strictObject({
  edge: z.string(),
  /** LoRa gateways of the station: every one of them hears every LoRaWAN frame. */
  gateways: z.array(z.string()),
  /** Camera push credentials: a recording is a test artifact and carries the simulated devices' secrets (NB-IoT MACs and LoRaWAN MICs are keyed in the bytes anyway). */
  cameras: z.record(z.string(), z.strictObject({ username: z.string(), password: z.string() })),
});
const headerSchema = z.strictObject({
  format: z.literal(RECORDING_FORMAT),
  version: z.literal(RECORDING_VERSION),
  scenario: z.string(),
  seed: z.union([z.number(), z.string()]),
  /** Scenario time zero, ISO 8601. */
  start: z.string(),
  durationMs: z.number().int().min(0),
  /** Compression the scenario was written for (scenario ms per wall ms); replay's default speed. */
  compression: z.number().positive(),
  stations: z.record(z.string(), stationInfo),
});
export type RecordingHeader = z.infer<typeof headerSchema>;

/** A recording that is not in this format; the message names the line and the key. */
export class RecordingError extends Error {
  override readonly name = 'RecordingError';
}

/** The station part of a frame's target. */
export const stationOf = (f: Frame) => f.target.split('/')[0]!;
/** The device part of a frame's target. */
export const deviceOf = (f: Frame) => f.target.slice(f.target.indexOf('/') + 1);

export function frameLine(f: Frame): string {
  return JSON.stringify({ t: f.t, proto: f.proto, target: f.target, bytes: f.bytes, meta: f.meta });
}

export function headerLine(h: RecordingHeader): string {
  return JSON.stringify(headerSchema.parse(h));
}

function parseLine<T>(schema: z.ZodType<T>, text: string, where: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RecordingError(`${where}: not JSON: ${(err as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new RecordingError(`${where}: ${i.path.join('.') || '(line)'}: ${i.message}`);
  }
  return r.data;
}

export const parseHeader = (text: string, where = 'line 1') => parseLine(headerSchema, text, where);
export const parseFrame = (text: string, where: string) => parseLine(frameSchema, text, where);

/** Reads a whole recording; a bad line throws RecordingError naming it. */
export async function readRecording(path: string): Promise<{ header: RecordingHeader; frames: Frame[] }> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let header: RecordingHeader | undefined;
  const frames: Frame[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.length > MAX_LINE_BYTES)
      throw new RecordingError(`${path}:${n}: line longer than ${MAX_LINE_BYTES} bytes`);
    if (line.trim() === '') continue;
    if (header === undefined) header = parseHeader(line, `${path}:${n}`);
    else frames.push(parseFrame(line, `${path}:${n}`));
  }
  if (header === undefined) throw new RecordingError(`${path}: empty: no header line`);
  return { header, frames };
}

/** Appends frames to a recording file as they are sent. */
export interface RecordingWriter {
  write(f: Frame): void;
  close(): Promise<void>;
}

export function openRecording(path: string, header: RecordingHeader): RecordingWriter {
  const out: WriteStream = createWriteStream(path);
  out.write(`${headerLine(header)}\n`);
  return {
    write: (f) => void out.write(`${frameLine(f)}\n`),
    close: () =>
      new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      ),
  };
}
