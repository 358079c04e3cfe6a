import { spawn } from 'node:child_process';
import type { DeviceEvent, Reading } from '@village/protocol';
import type { DriverContext } from '../src/driver.js';

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

/** Starts a child in its own process group and resolves with the first stdout match of `ready`. */
export function startProcess(
  command: string,
  args: string[],
  ready: RegExp,
  timeoutMs = 20_000,
): Promise<{ match: RegExpMatchArray; stop(): Promise<void> }> {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        resolve();
      }
    });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} not ready within ${timeoutMs} ms: ${out} ${err}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}: ${err}`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ match, stop });
      }
    });
  });
}
