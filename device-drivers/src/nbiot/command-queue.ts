import type { CommandResult } from '@village/protocol';

/**
 * Commands for sleeping devices. Each device has a FIFO; its head goes out in the response to
 * every uplink until the device confirms it (echoes its id in a later uplink), so a lost
 * response only delays delivery. `enqueue` returns a promise that settles on confirmation,
 * on a device-reported failure, or when the deadline passes.
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

interface Pending {
  id: string;
  bytes: Uint8Array;
  /** Counter of the uplink whose response last carried it; undefined until first sent. */
  sentWith?: number;
  resolve(data: CommandResult['data']): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface CommandQueue {
  enqueue(device: string, id: string, bytes: Uint8Array, timeoutMs: number): Promise<CommandResult['data']>;
  /** The command to piggyback on the response to this uplink, if any; marks it sent. */
  next(device: string, counter: number): { id: string; bytes: Uint8Array } | undefined;
  /** The device echoed `id` (and maybe an error): settles that command. Returns false for an unknown id. */
  confirm(device: string, id: string, counter: number, error?: string): boolean;
  /** Rejects everything still waiting (driver stop). */
  clear(reason: Error): void;
  depth(device: string): number;
}

export function createCommandQueue(maxPerDevice: number): CommandQueue {
  const queues = new Map<string, Pending[]>();
  const remove = (device: string, p: Pending) => {
    const q = queues.get(device);
    if (!q) return;
    const i = q.indexOf(p);
    if (i >= 0) q.splice(i, 1);
    clearTimeout(p.timer);
  };
  return {
    enqueue(device, id, bytes, timeoutMs) {
      let q = queues.get(device);
      if (!q) {
        q = [];
        queues.set(device, q);
      }
      if (q.length >= maxPerDevice) return Promise.reject(new CommandQueueFullError(device, maxPerDevice));
      return new Promise((resolve, reject) => {
        const p: Pending = {
          id,
          bytes,
          resolve,
          reject,
          timer: setTimeout(() => {
            remove(device, p);
            reject(new CommandTimeoutError(id, device, timeoutMs));
          }, timeoutMs),
        };
        q.push(p);
      });
    },
    next(device, counter) {
      const head = queues.get(device)?.[0];
      if (!head) return undefined;
      head.sentWith = counter;
      return { id: head.id, bytes: head.bytes };
    },
    confirm(device, id, counter, error) {
      const p = queues.get(device)?.find((x) => x.id === id && x.sentWith !== undefined);
      if (!p) return false;
      remove(device, p);
      if (error !== undefined) p.reject(new DeviceCommandError(id, device, error));
      else p.resolve({ delivered: true, confirmedBy: counter });
      return true;
    },
    clear(reason) {
      for (const [device, q] of queues)
        for (const p of [...q]) {
          remove(device, p);
          p.reject(reason);
        }
    },
    depth: (device) => queues.get(device)?.length ?? 0,
  };
}
