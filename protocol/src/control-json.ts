import { ProtocolError } from './errors.js';
import { LIMITS } from './limits.js';
import { checkEpoch, checkId, checkTimestamp } from './reading-check.js';
import type { Command, CommandResult, Status } from './types.js';

/**
 * Status and command messages are low-rate and meant to be read by people with
 * `mosquitto_sub`, so they are JSON. Each decoder checks the fields it relies on.
 */
export function encodeJson(value: Status | Command | CommandResult): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

function parse(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > LIMITS.maxControlBytes)
    throw new ProtocolError('too_large', what, 'too large', bytes.length);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ProtocolError('bad_json', what, `not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError('bad_shape', what, 'must be a JSON object', raw);
  }
  return raw as Record<string, unknown>;
}

export function decodeStatus(bytes: Uint8Array): Status {
  const s = parse(bytes, 'status');
  checkId(s.edgeId, 'status.edgeId');
  if (typeof s.boot !== 'number' || !Number.isSafeInteger(s.boot)) {
    throw new ProtocolError('bad_type', 'status.boot', 'must be an integer', s.boot);
  }
  if (s.epoch !== undefined) checkEpoch(s.epoch, 'status.epoch');
  if (s.bdSeq !== undefined && (typeof s.bdSeq !== 'number' || !Number.isSafeInteger(s.bdSeq) || s.bdSeq < 0))
    throw new ProtocolError('bad_type', 'status.bdSeq', 'must be a non-negative integer', s.bdSeq);
  if (s.state === 'offline') return s as unknown as Status;
  if (s.state === 'report') {
    checkTimestamp(s.ts, 'status.ts');
    checkReport(s.report);
    return s as unknown as Status;
  }
  if (s.state !== 'online')
    throw new ProtocolError('bad_shape', 'status.state', 'must be online, offline or report', s.state);
  checkTimestamp(s.ts, 'status.ts');
  if (
    s.clockOffsetS !== undefined &&
    (typeof s.clockOffsetS !== 'number' || !Number.isFinite(s.clockOffsetS))
  ) {
    throw new ProtocolError('bad_type', 'status.clockOffsetS', 'must be a finite number', s.clockOffsetS);
  }
  if (!Array.isArray(s.devices))
    throw new ProtocolError('bad_type', 'status.devices', 'must be an array', s.devices);
  s.devices.forEach((d: unknown, i: number) => {
    const dev = d as Record<string, unknown>;
    checkId(dev?.id, `status.devices[${i}].id`);
    if (typeof dev.kind !== 'string' || typeof dev.driver !== 'string' || !Array.isArray(dev.metrics)) {
      throw new ProtocolError('bad_shape', `status.devices[${i}]`, 'needs kind, driver and metrics', d);
    }
  });
  return s as unknown as Status;
}

export function decodeCommand(bytes: Uint8Array): Command {
  const c = parse(bytes, 'cmd');
  if (typeof c.id !== 'string' || c.id.length === 0 || c.id.length > LIMITS.maxNameLength) {
    throw new ProtocolError('bad_shape', 'cmd.id', 'must be a non-empty string', c.id);
  }
  checkId(c.device, 'cmd.device');
  checkId(c.action, 'cmd.action');
  if (typeof c.params !== 'object' || c.params === null || Array.isArray(c.params)) {
    throw new ProtocolError('bad_type', 'cmd.params', 'must be an object', c.params);
  }
  if (c.expiresAt !== undefined) checkTimestamp(c.expiresAt, 'cmd.expiresAt');
  return c as unknown as Command;
}

export function decodeCommandResult(bytes: Uint8Array): CommandResult {
  const r = parse(bytes, 'cmd-result');
  if (typeof r.id !== 'string')
    throw new ProtocolError('bad_type', 'cmd-result.id', 'must be a string', r.id);
  if (typeof r.ok !== 'boolean')
    throw new ProtocolError('bad_type', 'cmd-result.ok', 'must be a boolean', r.ok);
  checkTimestamp(r.ts, 'cmd-result.ts');
  if (r.code !== undefined && (typeof r.code !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(r.code)))
    throw new ProtocolError('bad_type', 'cmd-result.code', 'must be a snake_case code', r.code);
  return r as unknown as CommandResult;
}

const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNullableNumber = (v: unknown) =>
  v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

/** The fields of an EdgeReport the cloud stores and alerts on. */
function checkReport(r: unknown): void {
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    throw new ProtocolError('bad_shape', 'status.report', 'must be an object', r);
  const { outbox, drivers, diskFreeBytes, diskTotalBytes, clockOffsetS } = r as Record<string, unknown>;
  const o = outbox as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null)
    throw new ProtocolError('bad_shape', 'status.report.outbox', 'must be an object', outbox);
  for (const k of ['pendingReadings', 'pendingEvents', 'bytesUsed', 'droppedReadings'])
    if (!isCount(o[k]))
      throw new ProtocolError('bad_type', `status.report.outbox.${k}`, 'must be a count', o[k]);
  if (!isNullableNumber(o.oldestUnsentAgeS))
    throw new ProtocolError(
      'bad_type',
      'status.report.outbox.oldestUnsentAgeS',
      'must be seconds or null',
      o.oldestUnsentAgeS,
    );
  if (typeof o.diskFull !== 'boolean')
    throw new ProtocolError('bad_type', 'status.report.outbox.diskFull', 'must be a boolean', o.diskFull);
  if (!Array.isArray(drivers))
    throw new ProtocolError('bad_type', 'status.report.drivers', 'must be an array', drivers);
  drivers.forEach((d: unknown, i: number) => {
    const x = d as Record<string, unknown> | null;
    if (typeof x?.id !== 'string' || typeof x.running !== 'boolean' || !isCount(x.restarts))
      throw new ProtocolError(
        'bad_shape',
        `status.report.drivers[${i}]`,
        'needs id, running and restarts',
        d,
      );
  });
  for (const [k, v] of [
    ['diskFreeBytes', diskFreeBytes],
    ['diskTotalBytes', diskTotalBytes],
  ] as const)
    if (!isNullableNumber(v))
      throw new ProtocolError('bad_type', `status.report.${k}`, 'must be bytes or null', v);
  if (clockOffsetS !== undefined && (typeof clockOffsetS !== 'number' || !Number.isFinite(clockOffsetS)))
    throw new ProtocolError(
      'bad_type',
      'status.report.clockOffsetS',
      'must be a finite number',
      clockOffsetS,
    );
}
