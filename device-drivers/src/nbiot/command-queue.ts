import type { CommandResult } from '@village/protocol';
import type { CommandOutcome, CommandStore } from './command-store.js';

/**
 * Commands for sleeping devices. Each device has a FIFO; its head goes out in the response to
 * every uplink until the device confirms it (echoes its id in a later uplink), so a lost
 * response only delays delivery. `enqueue` returns a promise that settles on confirmation,
 * on a device-reported failure, or when the deadline passes. Once the driver has started, the
 * queue is backed by SQLite (command-store.ts): queued commands outlive a restart.
 */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  /** Kept by the supervisor in the command's result, end to end. */
  readonly code = 'command_timeout';
  constructor(
    readonly commandId: string,
    readonly device: string,
    readonly waitedMs: number,
  ) {
    super(`command ${commandId} for ${device}: not confirmed by the device within ${waitedMs} ms`);
  }
}

export class CommandQueueFullError extends Error {
  override readonly name = 'CommandQueueFullError';
  /** Kept by the supervisor in the command's result, end to end. */
  readonly code = 'command_queue_full';
  constructor(
    readonly device: string,
    readonly limit: number,
  ) {
    super(`${device}: already ${limit} commands waiting for the device to wake`);
  }
}

export class DeviceCommandError extends Error {
  override readonly name = 'DeviceCommandError';
  /** Kept by the supervisor in the command's result, end to end. */
  readonly code = 'device_error';
  constructor(
    readonly commandId: string,
    readonly device: string,
    readonly reason: string,
  ) {
    super(`command ${commandId} failed on ${device}: ${reason}`);
  }
}

interface Waiter {
  resolve(data: CommandResult['data']): void;
  reject(err: Error): void;
}

interface Pending {
  device: string;
  id: string;
  bytes: Uint8Array;
  expiresAt: number;
  /** Counter of the uplink whose response last carried it; undefined until first sent. */
  sentWith?: number;
  /** Callers waiting for the outcome: none for a command loaded from disk until the cloud resends it. */
  waiters: Waiter[];
  timer: NodeJS.Timeout;
}

export interface CommandQueue {
  /**
   * Backs the queue with `store` (driver start): the commands a previous run left queued are
   * loaded and go out again with their devices' next uplinks, their deadlines kept.
   */
  open(store: CommandStore): void;
  enqueue(device: string, id: string, bytes: Uint8Array, timeoutMs: number): Promise<CommandResult['data']>;
  /** The command to piggyback on the response to this uplink, if any; marks it sent. */
  next(device: string, counter: number): { id: string; bytes: Uint8Array } | undefined;
  /** The device echoed `id` (and maybe an error): settles that command. Returns false for an unknown id. */
  confirm(device: string, id: string, counter: number, error?: string): boolean;
  /** Rejects every waiter (driver stop); the commands stay in the store for the next start. */
  clear(reason: Error): void;
  depth(device: string): number;
}

const settle = (device: string, id: string, waiters: readonly Waiter[], outcome: CommandOutcome) => {
  for (const w of waiters) {
    if (outcome.ok) w.resolve({ delivered: true, confirmedBy: outcome.confirmedBy });
    else w.reject(new DeviceCommandError(id, device, outcome.error));
  }
};

export function createCommandQueue(maxPerDevice: number, now: () => number = Date.now): CommandQueue {
  const queues = new Map<string, Pending[]>();
  let store: CommandStore | undefined;
  const remove = (p: Pending) => {
    const q = queues.get(p.device);
    const i = q?.indexOf(p) ?? -1;
    if (i >= 0) q!.splice(i, 1);
    clearTimeout(p.timer);
  };
  const add = (c: Omit<Pending, 'timer' | 'waiters'>, timeoutMs: number): Pending => {
    const p: Pending = {
      ...c,
      waiters: [],
      timer: setTimeout(
        () => {
          remove(p);
          store?.drop(p.device, p.id);
          for (const w of p.waiters) w.reject(new CommandTimeoutError(p.id, p.device, timeoutMs));
        },
        Math.max(0, c.expiresAt - now()),
      ),
    };
    let q = queues.get(c.device);
    if (!q) {
      q = [];
      queues.set(c.device, q);
    }
    q.push(p);
    return p;
  };
  return {
    open(s) {
      store = s;
      for (const c of s.queued()) {
        if (!queues.get(c.device)?.some((p) => p.id === c.id)) add(c, Math.max(0, c.expiresAt - now()));
      }
    },
    enqueue(device, id, bytes, timeoutMs) {
      return new Promise((resolve, reject) => {
        // The cloud resends a command it has no result for (an edge restart loses the waiter):
        // the same id joins the queued one, or gets the outcome it already had.
        const existing = queues.get(device)?.find((p) => p.id === id);
        if (existing) return existing.waiters.push({ resolve, reject });
        const done = store?.outcome(device, id);
        if (done) return settle(device, id, [{ resolve, reject }], done);
        if ((queues.get(device)?.length ?? 0) >= maxPerDevice)
          return reject(new CommandQueueFullError(device, maxPerDevice));
        const c = { device, id, bytes, expiresAt: now() + timeoutMs };
        store?.add(c);
        add(c, timeoutMs).waiters.push({ resolve, reject });
      });
    },
    next(device, counter) {
      const head = queues.get(device)?.[0];
      if (!head) return undefined;
      head.sentWith = counter;
      store?.sent(device, head.id, counter);
      return { id: head.id, bytes: head.bytes };
    },
    confirm(device, id, counter, error) {
      const p = queues.get(device)?.find((x) => x.id === id && x.sentWith !== undefined);
      if (!p) return false;
      remove(p);
      const outcome: CommandOutcome =
        error !== undefined ? { ok: false, error } : { ok: true, confirmedBy: counter };
      store?.finish(device, id, outcome);
      settle(device, id, p.waiters, outcome);
      return true;
    },
    clear(reason) {
      for (const q of queues.values())
        for (const p of [...q]) {
          remove(p);
          for (const w of p.waiters) w.reject(reason);
        }
      queues.clear();
      store = undefined;
    },
    depth: (device) => queues.get(device)?.length ?? 0,
  };
}
