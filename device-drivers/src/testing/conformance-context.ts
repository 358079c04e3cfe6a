import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent, Reading } from '@village/protocol';
import type { DriverContext } from '../driver.js';

/**
 * The DriverContext the conformance kit gives a driver, standing in for the edge agent's outbox:
 * it records what the driver emits, and `rejectEmits` makes every emit reject, as a full or
 * broken disk would.
 */
export interface ConformanceContext extends DriverContext {
  readings: Reading[];
  events: DeviceEvent[];
  errors: Map<string, number>;
  failures: Error[];
  rejectEmits: boolean;
}

export function createConformanceContext(
  dataDir = mkdtempSync(join(tmpdir(), 'village-conformance-')),
): ConformanceContext {
  const controller = new AbortController();
  const quiet = () => {};
  const ctx: ConformanceContext = {
    id: 'conformance',
    readings: [],
    events: [],
    errors: new Map(),
    failures: [],
    rejectEmits: false,
    dataDir,
    signal: controller.signal,
    async emitReadings(readings) {
      if (ctx.rejectEmits) throw new Error('outbox unavailable (conformance kit)');
      ctx.readings.push(...readings);
    },
    async emitEvent(event) {
      if (ctx.rejectEmits) throw new Error('outbox unavailable (conformance kit)');
      ctx.events.push(event);
    },
    countError(reason) {
      ctx.errors.set(reason, (ctx.errors.get(reason) ?? 0) + 1);
    },
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    now: () => Date.now(),
    fail(err) {
      ctx.failures.push(err);
    },
  };
  return ctx;
}
