import type { Command, CommandResult } from '@village/protocol';
import { LorawanError } from './errors.js';
import type { LorawanRuntime } from './runtime.js';

/** Largest FRMPayload accepted for a queued downlink, bytes: N at DR0 (RX2) in EU868 and CN470. */
export const MAX_DOWNLINK_PAYLOAD = 51;

/** Commands from the edge: `downlink` queues an application frame for the device's next uplink. */
export async function handleCommand(rt: LorawanRuntime, cmd: Command): Promise<CommandResult['data']> {
  const device = rt.devicesById.get(cmd.device);
  if (device === undefined)
    throw new LorawanError('bad_command', `device ${cmd.device} is not a LoRaWAN device here`);
  if (cmd.action !== 'downlink')
    throw new LorawanError('bad_command', `action ${cmd.action} unsupported; use downlink`);
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
  const queue = rt.queues.get(device.id) ?? [];
  if (queue.length >= rt.config.maxQueuedDownlinks) {
    throw new LorawanError(
      'bad_command',
      `downlink queue of ${device.id} is full (${rt.config.maxQueuedDownlinks})`,
    );
  }
  queue.push({ fPort, payload: Buffer.from(payloadHex, 'hex'), confirmed: confirmed === true });
  rt.queues.set(device.id, queue);
  return { queued: queue.length };
}
