import { createHmac, timingSafeEqual } from 'node:crypto';
import { Decoder, Encoder } from 'cbor-x';

/**
 * The authenticated envelope an NB-IoT device posts to `/t/{imei}` (docs/nbiot-device-guide.md).
 *
 * Uplink body, a CBOR map (Content-Format 60) or a JSON object (Content-Format 50):
 *   c  counter, integer 1..2^53-1, strictly increasing per device (replay protection)
 *   p  application payload: CBOR byte string / JSON hex string (decoded by the device's codec)
 *   a  optional: id of the last downlink command the device executed (confirms delivery)
 *   x  optional: error text when that command failed on the device
 *   m  MAC: first 8 bytes of HMAC-SHA256(key, "{imei}|{c}|{a}|{x}|" ‖ p); byte string / hex
 *
 * Downlink (2.04 payload, only when a command is waiting), same format as the uplink:
 *   i  command id     d  command bytes (codec's encodeDownlink)
 *   m  first 8 bytes of HMAC-SHA256(key, "{imei}|{c}|{i}|" ‖ d), c being the uplink's counter,
 *      so a recorded downlink cannot be replayed to the device later.
 */
export const MAC_BYTES = 8;
export const MAX_PAYLOAD_BYTES = 256;
const MAX_ID_CHARS = 64;

export type EnvelopeErrorCode = 'not_cbor' | 'bad_json' | 'bad_shape' | 'bad_type' | 'bad_mac';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export type BodyFormat = 'cbor' | 'json';

export interface Uplink {
  counter: number;
  payload: Uint8Array;
  ackId?: string;
  ackError?: string;
  mac: Uint8Array;
}

const decoder = new Decoder({ mapsAsObjects: true, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, variableMapSize: true });

/** Parses and shape-checks a body; the MAC is checked separately (it needs the device key). */
export function parseUplink(body: Uint8Array, format: BodyFormat): Uplink {
  let raw: unknown;
  try {
    raw = format === 'cbor' ? decoder.decode(body) : JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw new EnvelopeError(format === 'cbor' ? 'not_cbor' : 'bad_json', 'body', (err as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new EnvelopeError('bad_shape', 'body', 'must be a map with c, p and m');
  }
  const w = raw as Record<string, unknown>;
  const counter = w.c;
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1) {
    throw new EnvelopeError('bad_type', 'c', `must be an integer 1..2^53-1, got ${preview(counter)}`);
  }
  const payload = bytesField(w.p, 'p', format, MAX_PAYLOAD_BYTES);
  const mac = bytesField(w.m, 'm', format, MAC_BYTES);
  if (mac.length !== MAC_BYTES)
    throw new EnvelopeError('bad_shape', 'm', `must be ${MAC_BYTES} bytes, got ${mac.length}`);
  const up: Uplink = { counter, payload, mac };
  if (w.a !== undefined) up.ackId = stringField(w.a, 'a');
  if (w.x !== undefined) up.ackError = stringField(w.x, 'x');
  return up;
}

export function uplinkMac(key: Uint8Array, imei: string, up: Omit<Uplink, 'mac'>): Uint8Array {
  return hmac(key, `${imei}|${up.counter}|${up.ackId ?? ''}|${up.ackError ?? ''}|`, up.payload);
}

export function verifyUplink(key: Uint8Array, imei: string, up: Uplink): void {
  const want = uplinkMac(key, imei, up);
  if (!timingSafeEqual(Buffer.from(want), Buffer.from(up.mac))) {
    throw new EnvelopeError('bad_mac', 'm', 'MAC does not match the device key');
  }
}

/** Device side of the uplink envelope; used by tests and benches (the simulators carry their own). */
export function encodeUplink(
  key: Uint8Array,
  imei: string,
  up: Omit<Uplink, 'mac'>,
  format: BodyFormat,
): Uint8Array {
  const mac = uplinkMac(key, imei, up);
  const w: Record<string, unknown> = { c: up.counter };
  if (up.ackId !== undefined) w.a = up.ackId;
  if (up.ackError !== undefined) w.x = up.ackError;
  if (format === 'cbor') return encoder.encode({ ...w, p: up.payload, m: mac });
  return Buffer.from(JSON.stringify({ ...w, p: hex(up.payload), m: hex(mac) }));
}

export interface Downlink {
  id: string;
  bytes: Uint8Array;
}

export function encodeDownlink(
  key: Uint8Array,
  imei: string,
  counter: number,
  dl: Downlink,
  format: BodyFormat,
): Uint8Array {
  const mac = hmac(key, `${imei}|${counter}|${dl.id}|`, dl.bytes);
  if (format === 'cbor') return encoder.encode({ i: dl.id, d: dl.bytes, m: mac });
  return Buffer.from(JSON.stringify({ i: dl.id, d: hex(dl.bytes), m: hex(mac) }));
}

function hmac(key: Uint8Array, prefix: string, bytes: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(prefix, 'utf8').update(bytes).digest().subarray(0, MAC_BYTES);
}

function bytesField(v: unknown, field: string, format: BodyFormat, max: number): Uint8Array {
  if (format === 'cbor') {
    if (!(v instanceof Uint8Array)) throw new EnvelopeError('bad_type', field, 'must be a CBOR byte string');
    if (v.length > max) throw new EnvelopeError('bad_shape', field, `longer than ${max} bytes (${v.length})`);
    return v;
  }
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v)) {
    throw new EnvelopeError('bad_type', field, `must be a hex string, got ${preview(v)}`);
  }
  if (v.length / 2 > max)
    throw new EnvelopeError('bad_shape', field, `longer than ${max} bytes (${v.length / 2})`);
  return Buffer.from(v, 'hex');
}

function stringField(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_CHARS || v.includes('|')) {
    throw new EnvelopeError(
      'bad_type',
      field,
      `must be a string of 1..${MAX_ID_CHARS} characters without '|'`,
    );
  }
  return v;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
