import type { Reception } from './dedup.js';
import { scheduleDownlink } from './downlink-scheduler.js';
import { acceptJoin } from './join-request.js';
import type { LoraPacket } from './lora-packet-lib.js';
import { type LorawanRuntime, indexSession } from './runtime.js';

/**
 * A join-request (ChirpStack's uplink/join): the join server checks and installs the session,
 * the old session's queued downlinks are dropped (they were for the old keys), and the
 * join-accept goes out in JOIN_ACCEPT_DELAY1/2.
 */
export function handleJoinUplink(rt: LorawanRuntime, pkt: LoraPacket, receptions: Reception[]): void {
  const { session, joinAccept } = acceptJoin(
    pkt,
    rt.otaaDevices,
    rt.store!,
    rt.netId,
    (a) => !rt.byDevAddr.has(a),
  );
  indexSession(rt, session);
  rt.counters.joins++;
  const deviceId = rt.devicesByEui.get(session.devEui)!.id;
  // A new session: what was queued for the old one is dropped (as ChirpStack flushes the device
  // queue on join), counted in the log line; the MAC state starts over.
  const dropped = rt.downlinks!.clear(deviceId);
  rt.mac.delete(session.devEui);
  rt.ctx.log.info(
    { deviceId, devAddr: session.devAddr, droppedDownlinks: dropped },
    'lorawan: device joined',
  );
  rt.hooks.onJoin?.(deviceId, session.devAddr);
  scheduleDownlink(rt, receptions, 'join', deviceId, () => joinAccept);
}
