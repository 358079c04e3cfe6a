import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What a test keeps of a device driver it runs in place of the edge agent: everything the driver
 * emitted, and its error reasons and failure messages in one list. `context` is a driver context
 * (device-drivers' DriverContext, matched by shape: the kit imports no package but protocol), with
 * a quiet log, the wall clock and a fresh temp folder. Type it with the reading and event types:
 * `recordingDriverContext<Reading, DeviceEvent>('nbiot-sim-test')`.
 */
export interface RecordingDriverContext<R, E> {
  readings: R[];
  events: E[];
  /** countError reasons and fail() messages, in order. */
  errors: string[];
  context: {
    id: string;
    emitReadings(r: R[]): Promise<void>;
    emitEvent(e: E): Promise<void>;
    countError(reason: string): void;
    log: { debug(): void; info(): void; warn(): void; error(): void };
    now(): number;
    dataDir: string;
    signal: AbortSignal;
    fail(err: Error): void;
  };
}

export function recordingDriverContext<R, E>(id: string): RecordingDriverContext<R, E> {
  const readings: R[] = [];
  const events: E[] = [];
  const errors: string[] = [];
  const noop = () => {};
  return {
    readings,
    events,
    errors,
    context: {
      id,
      emitReadings: async (r) => {
        readings.push(...r);
      },
      emitEvent: async (e) => {
        events.push(e);
      },
      countError: (r) => errors.push(r),
      log: { debug: noop, info: noop, warn: noop, error: noop },
      now: () => Date.now(),
      dataDir: mkdtempSync(join(tmpdir(), `${id}-`)),
      signal: new AbortController().signal,
      fail: (e) => errors.push(e.message),
    },
  };
}
