import { createHmac } from 'node:crypto';
import { encode } from 'cbor-x';

/**
 * Builds an uplink body straight from docs/nbiot-device-guide.md (not from the driver's own
 * envelope code), so the tests check the documented scheme.
 */
export interface BodyFields {
  counter: number;
  payload: Uint8Array;
  ack?: string;
  ackError?: string;
}

export function deviceMac(keyHex: string, text: string, bytes: Uint8Array): Buffer {
  return createHmac('sha256', Buffer.from(keyHex, 'hex')).update(text).update(bytes).digest().subarray(0, 8);
}

export function cborBody(keyHex: string, imei: string, f: BodyFields): Buffer {
  const m = deviceMac(keyHex, `${imei}|${f.counter}|${f.ack ?? ''}|${f.ackError ?? ''}|`, f.payload);
  const map: Record<string, unknown> = { c: f.counter, p: Buffer.from(f.payload), m };
  if (f.ack !== undefined) map.a = f.ack;
  if (f.ackError !== undefined) map.x = f.ackError;
  return encode(map);
}

export function jsonBody(keyHex: string, imei: string, f: BodyFields): Buffer {
  const m = deviceMac(keyHex, `${imei}|${f.counter}|${f.ack ?? ''}|${f.ackError ?? ''}|`, f.payload);
  const obj: Record<string, unknown> = {
    c: f.counter,
    p: Buffer.from(f.payload).toString('hex'),
    m: m.toString('hex'),
  };
  if (f.ack !== undefined) obj.a = f.ack;
  return Buffer.from(JSON.stringify(obj));
}
