import type { Reception } from './dedup.js';
import type { LoraPacket } from './lora-packet-lib.js';
import { decodePhyPayload } from './phy-payload.js';
import { type LorawanRuntime, fail, handleError } from './runtime.js';
import { handleDataUplink } from './uplink-data.js';
import { handleJoinUplink } from './uplink-join.js';

/** A de-duplicated frame with all its receptions, routed by message type to join or data. */
export function handleFrame(rt: LorawanRuntime, phy: Buffer, receptions: Reception[]): void {
  if (rt.stopped) return;
  const gateways = receptions.map((r) => r.gatewayEui);
  let pkt: LoraPacket;
  try {
    pkt = decodePhyPayload(phy);
  } catch (err) {
    handleError(rt, err, { gateways });
    return;
  }
  const mtype = pkt.getMType();
  if (receptions.length > 1) rt.counters.duplicatesMerged += receptions.length - 1;
  if (mtype === 'Join Request') {
    try {
      handleJoinUplink(rt, pkt, receptions);
    } catch (err) {
      handleError(rt, err, { gateways });
    }
  } else if (mtype === 'Unconfirmed Data Up' || mtype === 'Confirmed Data Up') {
    handleDataUplink(rt, pkt, receptions).catch((err) => handleError(rt, err, { gateways }));
  } else {
    fail(rt, 'mtype_unexpected', `lorawan: ${mtype} is not an uplink this server handles`, { gateways });
  }
}
