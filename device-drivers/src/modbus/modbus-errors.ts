/**
 * Typed errors of the Modbus driver. Each says what was wrong with which value; `code` is
 * stable so the edge can label counters and command results with it.
 */

/** A device profile that cannot be used: names the file, the point and the reason. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly file: string,
    readonly point: string | undefined,
    readonly reason: string,
  ) {
    super(`${file}: ${point === undefined ? '' : `point ${point}: `}${reason}`);
  }
}

export type CommandErrorCode =
  | 'unknown_device'
  | 'unknown_point'
  | 'not_writable'
  | 'bad_action'
  | 'bad_value'
  | 'device_error';

/** A command the driver refuses or could not carry out. */
export class ModbusCommandError extends Error {
  override readonly name = 'ModbusCommandError';
  constructor(
    readonly code: CommandErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Exception codes, Modbus Application Protocol v1.1b3 §7. */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'ILLEGAL_FUNCTION',
  2: 'ILLEGAL_DATA_ADDRESS',
  3: 'ILLEGAL_DATA_VALUE',
  4: 'SERVER_DEVICE_FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER_DEVICE_BUSY',
  8: 'MEMORY_PARITY_ERROR',
  10: 'GATEWAY_PATH_UNAVAILABLE',
  11: 'GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND',
};

export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code] ?? `EXCEPTION_${code}`;
}

/** Why one request failed, as the driver counts it (ctx.countError label). */
export type FailureKind = 'exception' | 'timeout' | 'bad_crc' | 'bad_frame' | 'port_closed' | 'other';

export interface RequestFailure {
  kind: FailureKind;
  /** Modbus exception code, for kind 'exception'. */
  exceptionCode?: number;
  message: string;
}

/**
 * Classifies a modbus-serial rejection. modbus-serial reports exceptions with `modbusCode`,
 * timeouts as TransactionTimedOutError, and framing faults only by message text.
 */
export function classifyFailure(err: unknown): RequestFailure {
  const e = err as {
    modbusCode?: unknown;
    name?: unknown;
    errno?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.modbusCode === 'number') {
    return { kind: 'exception', exceptionCode: e.modbusCode, message: exceptionName(e.modbusCode) };
  }
  if (e?.name === 'TransactionTimedOutError' || e?.errno === 'ETIMEDOUT') return { kind: 'timeout', message };
  if (message.includes('CRC error')) return { kind: 'bad_crc', message };
  if (message.startsWith('Unexpected data error') || message.startsWith('Data length error')) {
    return { kind: 'bad_frame', message };
  }
  // modbus-serial trusts an answer's byte count and reads past the frame when it lies (CRC
  // intact); Node's buffer bounds checks then throw these (found by fuzz-modbus-rtu.test.ts).
  if (e?.code === 'ERR_OUT_OF_RANGE' || e?.code === 'ERR_BUFFER_OUT_OF_BOUNDS') {
    return { kind: 'bad_frame', message: `answer does not match its byte count: ${message}` };
  }
  if (e?.name === 'PortNotOpenError' || e?.errno === 'ECONNREFUSED' || message.includes('Port Not Open')) {
    return { kind: 'port_closed', message };
  }
  return { kind: 'other', message };
}
