import { ProtocolError } from './errors.js';
import { EPOCH_PATTERN, ID_PATTERN, LIMITS } from './limits.js';
import { type DeviceEvent, QUALITIES, type Reading, SEVERITIES } from './types.js';

/**
 * Field checks shared by the encoder (edge: refuse a bad reading from a driver before it is stored)
 * and the decoder (cloud: refuse a bad batch). Each throws ProtocolError naming the field.
 */
export function checkId(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ProtocolError('bad_type', path, 'must be a string', value);
  if (!ID_PATTERN.test(value)) {
    throw new ProtocolError('bad_shape', path, 'must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}', value);
  }
  return value;
}

// Units are free text ("µg/m³", "°C") but short and free of control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const UNIT_PATTERN = /^[^\u0000-\u001f\u007f]{0,32}$/;

export function checkUnit(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ProtocolError('bad_type', path, 'must be a string', value);
  if (!UNIT_PATTERN.test(value)) {
    throw new ProtocolError('bad_shape', path, 'must be at most 32 printable characters', value);
  }
  return value;
}

export function checkEpoch(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ProtocolError('bad_type', path, 'must be a string', value);
  if (!EPOCH_PATTERN.test(value)) {
    throw new ProtocolError('bad_shape', path, 'must be 1..64 characters of [A-Za-z0-9_-]', value);
  }
  return value;
}

export function checkTimestamp(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ProtocolError('bad_type', path, 'must be an integer ms timestamp', value);
  }
  if (value < LIMITS.minTimestamp || value > LIMITS.maxTimestamp) {
    throw new ProtocolError('out_of_range', path, 'timestamp outside 2000..2100', value);
  }
  return value;
}

export function checkValue(value: unknown, path: string): number | boolean | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ProtocolError('out_of_range', path, 'must be finite', value);
    return value;
  }
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (value.length > LIMITS.maxStringValue) {
      throw new ProtocolError('out_of_range', path, `string longer than ${LIMITS.maxStringValue}`, value);
    }
    return value;
  }
  throw new ProtocolError('bad_type', path, 'must be a number, boolean or string', value);
}

export function checkReading(r: Reading, path = 'reading'): Reading {
  if (typeof r !== 'object' || r === null) throw new ProtocolError('bad_type', path, 'must be an object', r);
  checkId(r.device, `${path}.device`);
  checkId(r.metric, `${path}.metric`);
  checkValue(r.value, `${path}.value`);
  checkUnit(r.unit, `${path}.unit`);
  checkTimestamp(r.ts, `${path}.ts`);
  if (!QUALITIES.includes(r.quality)) {
    throw new ProtocolError('bad_shape', `${path}.quality`, 'must be good, suspect or bad', r.quality);
  }
  return r;
}

export function checkEvent(e: DeviceEvent, path = 'event'): DeviceEvent {
  if (typeof e !== 'object' || e === null) throw new ProtocolError('bad_type', path, 'must be an object', e);
  checkId(e.device, `${path}.device`);
  checkId(e.type, `${path}.type`);
  if (!SEVERITIES.includes(e.severity)) {
    throw new ProtocolError('bad_shape', `${path}.severity`, 'must be info, warning or critical', e.severity);
  }
  checkTimestamp(e.ts, `${path}.ts`);
  checkEventData(e.data, `${path}.data`);
  return e;
}

export function checkEventData(data: unknown, path: string): DeviceEvent['data'] {
  if (typeof data !== 'object' || data === null || Array.isArray(data) || data instanceof Uint8Array) {
    throw new ProtocolError('bad_type', path, 'must be a map', data);
  }
  const keys = Object.keys(data);
  if (keys.length > LIMITS.maxEventDataKeys) {
    throw new ProtocolError('too_many', path, `more than ${LIMITS.maxEventDataKeys} keys`, keys.length);
  }
  for (const k of keys) {
    if (k.length > LIMITS.maxNameLength) throw new ProtocolError('out_of_range', path, 'key too long', k);
    // Decoders guard against prototype pollution by renaming this key (cbor-x makes it `__proto_`),
    // so it could never arrive as sent: refuse it where the event is made.
    if (k === '__proto__') throw new ProtocolError('bad_shape', path, 'key __proto__ is not allowed', k);
    const v = (data as Record<string, unknown>)[k];
    if (v !== null) checkValue(v, `${path}.${k}`);
  }
  return data as DeviceEvent['data'];
}
