import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent, Reading } from '@village/protocol';
import type { DriverContext } from '../../src/driver.js';

/**
 * A DriverContext that records everything a driver hands to the edge, in memory, so a test can
 * assert on it. It stands in for the edge agent's outbox (not a protocol peer: the LoRaWAN side
 * of the tests is real UDP).
 */
export interface RecordingContext extends DriverContext {
  readings: Reading[];
  events: DeviceEvent[];
  errors: Map<string, number>;
  logs: { level: string; obj: object; msg?: string }[];
  failures: Error[];
  errorCount(reason: string): number;
  abort(): void;
  /** Removes the data dir (call once every driver using it has stopped). */
  cleanup(): void;
}

export function createRecordingContext(opts: { id?: string; dataDir?: string } = {}): RecordingContext {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lorawan-test-'));
  const controller = new AbortController();
  const readings: Reading[] = [];
  const events: DeviceEvent[] = [];
  const errors = new Map<string, number>();
  const logs: RecordingContext['logs'] = [];
  const failures: Error[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    logs.push({ level, obj, msg });
  };
  return {
    id: opts.id ?? 'lorawan-test',
    readings,
    events,
    errors,
    logs,
    failures,
    async emitReadings(r) {
      readings.push(...r);
    },
    async emitEvent(e) {
      events.push(e);
    },
    countError(reason) {
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
    },
    errorCount: (reason) => errors.get(reason) ?? 0,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    now: () => Date.now(),
    dataDir,
    signal: controller.signal,
    fail(err) {
      failures.push(err);
    },
    abort: () => controller.abort(),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
