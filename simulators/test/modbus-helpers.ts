import type { DriverContext } from '@village/device-drivers';
import type { DeviceEvent, Reading } from '@village/protocol';

/** Polls `cond` until it holds or `timeoutMs` passes; never a fixed sleep. */
export async function waitFor<T>(
  cond: () => T | undefined | false | null,
  { timeoutMs = 20_000, stepMs = 20, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A DriverContext that records what the driver emits, with the wall clock as its clock. */
export interface RecordingContext extends DriverContext {
  readings: Reading[];
  /** Wall-clock time of each emitReadings call, per device: when the poll's answers arrived. */
  emitTimes: Map<string, number[]>;
  events: DeviceEvent[];
  errors: Map<string, number>;
  failures: Error[];
  abort(): void;
}

export function recordingContext(id = 'modbus-test'): RecordingContext {
  const controller = new AbortController();
  const errors = new Map<string, number>();
  const ctx: RecordingContext = {
    id,
    readings: [],
    emitTimes: new Map(),
    events: [],
    errors,
    failures: [],
    async emitReadings(r) {
      ctx.readings.push(...r);
      for (const device of new Set(r.map((x) => x.device))) {
        const times = ctx.emitTimes.get(device) ?? [];
        times.push(Date.now());
        ctx.emitTimes.set(device, times);
      }
    },
    async emitEvent(e) {
      ctx.events.push(e);
    },
    countError(reason) {
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
    },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    now: () => Date.now(),
    dataDir: '/tmp',
    signal: controller.signal,
    fail(err) {
      ctx.failures.push(err);
    },
    abort: () => controller.abort(),
  };
  return ctx;
}

/** The latest reading of one device's metric. */
export function latest(readings: readonly Reading[], device: string, metric: string): Reading | undefined {
  for (let i = readings.length - 1; i >= 0; i--) {
    const r = readings[i]!;
    if (r.device === device && r.metric === metric) return r;
  }
  return undefined;
}
