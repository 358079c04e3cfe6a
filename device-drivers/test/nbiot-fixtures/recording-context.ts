import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent, Reading } from '@village/protocol';
import type { DriverContext } from '../../src/driver.js';

/**
 * A DriverContext that records what a driver emits, in place of the edge agent's outbox.
 * `failEmits` makes emits reject (a full or broken disk) to test the no-ack path.
 */
export interface RecordingContext extends DriverContext {
  readings: Reading[];
  events: DeviceEvent[];
  errors: Map<string, number>;
  failures: Error[];
  logs: { level: string; msg?: string; obj: object }[];
  failEmits: boolean;
  errorCount(reason: string): number;
  abort(): void;
}

export function createRecordingContext(
  dataDir = mkdtempSync(join(tmpdir(), 'village-drv-')),
): RecordingContext {
  const controller = new AbortController();
  const log =
    (level: string) =>
    (obj: object, msg?: string): void => {
      ctx.logs.push({ level, obj, msg });
    };
  const ctx: RecordingContext = {
    id: 'test-driver',
    readings: [],
    events: [],
    errors: new Map(),
    failures: [],
    logs: [],
    failEmits: false,
    dataDir,
    signal: controller.signal,
    async emitReadings(readings) {
      if (ctx.failEmits) throw new Error('outbox unavailable (test)');
      ctx.readings.push(...readings);
    },
    async emitEvent(event) {
      if (ctx.failEmits) throw new Error('outbox unavailable (test)');
      ctx.events.push(event);
    },
    countError(reason) {
      ctx.errors.set(reason, (ctx.errors.get(reason) ?? 0) + 1);
    },
    errorCount: (reason) => ctx.errors.get(reason) ?? 0,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    now: () => Date.now(),
    fail(err) {
      ctx.failures.push(err);
    },
    abort: () => controller.abort(),
  };
  return ctx;
}
