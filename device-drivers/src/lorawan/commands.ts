import type { Command, CommandResult } from '@village/protocol';
import type { DownlinkQueue } from './downlink-queue.js';
import { LorawanError } from './errors.js';
import { CID } from './mac-commands.js';
import type { LorawanRuntime } from './runtime.js';

/** Largest FRMPayload accepted for a queued downlink, bytes: N at DR0 (RX2) in EU868 and CN470. */
export const MAX_DOWNLINK_PAYLOAD = 51;

/**
 * Commands from the edge:
 * - `downlink` {fPort, payloadHex, confirmed?} queues an application frame for the next uplink;
 * - `dev-status` queues a DevStatusReq (battery and margin come back as readings);
 * - `reset-frame-counter` {by, reason?} resets an ABP device's counters, audited.
 * Queued rows are in SQLite, so they survive a restart.
 */
export async function handleCommand(rt: LorawanRuntime, cmd: Command): Promise<CommandResult['data']> {
  const device = rt.devicesById.get(cmd.device);
  if (device === undefined)
    throw new LorawanError('bad_command', `device ${cmd.device} is not a LoRaWAN device here`);
  const queue = rt.downlinks;
  if (queue === undefined || rt.store === undefined)
    throw new LorawanError('bad_command', `command ${cmd.id}: the lorawan driver is not running`);
  switch (cmd.action) {
    case 'downlink':
      return queueDownlink(rt, queue, cmd);
    case 'dev-status':
      queue.enqueue({
        deviceId: device.id,
        commandId: cmd.id,
        fPort: 0,
        payload: Buffer.from([CID.DevStatus]),
        confirmed: false,
      });
      return { queued: true };
    case 'reset-frame-counter':
      return resetFrameCounter(rt, cmd);
    default:
      throw new LorawanError(
        'bad_command',
        `action ${cmd.action} unsupported; use downlink, dev-status or reset-frame-counter`,
      );
  }
}

function queueDownlink(rt: LorawanRuntime, queue: DownlinkQueue, cmd: Command): CommandResult['data'] {
  const { fPort, payloadHex, confirmed } = cmd.params;
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 1 || fPort > 223) {
    throw new LorawanError('bad_command', `fPort ${String(fPort)} must be an integer 1..223`);
  }
  if (typeof payloadHex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(payloadHex)) {
    throw new LorawanError('bad_command', `payloadHex ${String(payloadHex)} must be hex bytes`);
  }
  if (payloadHex.length / 2 > MAX_DOWNLINK_PAYLOAD) {
    throw new LorawanError(
      'bad_command',
      `payload of ${payloadHex.length / 2} bytes exceeds ${MAX_DOWNLINK_PAYLOAD}`,
    );
  }
  if (confirmed !== undefined && typeof confirmed !== 'boolean') {
    throw new LorawanError('bad_command', `confirmed ${String(confirmed)} must be a boolean`);
  }
  if (queue.depth(cmd.device) >= rt.config.maxQueuedDownlinks) {
    throw new LorawanError(
      'bad_command',
      `downlink queue of ${cmd.device} is full (${rt.config.maxQueuedDownlinks})`,
    );
  }
  const queued = queue.enqueue({
    deviceId: cmd.device,
    commandId: cmd.id,
    fPort,
    payload: Buffer.from(payloadHex, 'hex'),
    confirmed: confirmed === true,
  });
  return { queued };
}

/**
 * An ABP device that lost its counter (battery change, firmware update) sends FCnt 0 again and
 * is refused as a replay until its counter passes the stored one. This resets the session's
 * counters; it is an override of replay protection, so who asked, when, why, and the old and
 * new counters go into the log and, before the reset, into a durable event.
 */
async function resetFrameCounter(rt: LorawanRuntime, cmd: Command): Promise<CommandResult['data']> {
  const device = rt.devicesById.get(cmd.device)!;
  const { by, reason } = cmd.params;
  if (device.activation !== 'abp') {
    throw new LorawanError(
      'bad_command',
      `${device.id} is OTAA: a rejoin resets its counters, not this command`,
    );
  }
  if (typeof by !== 'string' || by.trim() === '') {
    throw new LorawanError('bad_command', `by ${String(by)} must name who resets the counter`);
  }
  if (reason !== undefined && typeof reason !== 'string') {
    throw new LorawanError('bad_command', `reason ${String(reason)} must be a string`);
  }
  const session = rt.sessionsByEui.get(device.devEui)!;
  const at = rt.ctx.now();
  const old = { fCntUp: session.fCntUp, fCntDown: session.fCntDown };
  const stored = rt.store!.get(device.devEui);
  if (stored !== undefined) old.fCntDown = stored.fCntDown;
  const fresh = { fCntUp: -1, fCntDown: 0 };
  const audit = {
    commandId: cmd.id,
    by,
    at,
    ...(reason === undefined ? {} : { reason }),
    oldFCntUp: old.fCntUp,
    oldFCntDown: old.fCntDown,
    newFCntUp: fresh.fCntUp,
    newFCntDown: fresh.fCntDown,
  };
  // Audit first: if the event cannot be stored, the counters stay as they are.
  await rt.ctx.emitEvent({ device: device.id, type: 'fcnt_reset', severity: 'warning', ts: at, data: audit });
  session.fCntUp = fresh.fCntUp;
  session.fCntDown = fresh.fCntDown;
  rt.store!.put(session);
  rt.ctx.log.warn({ deviceId: device.id, ...audit }, 'lorawan: ABP frame counters reset by command');
  return { reset: true, oldFCntUp: old.fCntUp, oldFCntDown: old.fCntDown };
}
