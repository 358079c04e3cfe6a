import { LorawanError } from './errors.js';
import { type LoraPacket, lp } from './lora-packet-lib.js';

/**
 * Decodes a PHYPayload (LoRaWAN 1.0.4 §4) with lora-packet and checks that the fields the
 * driver reads for its message type are there, so a short or odd frame is refused here with
 * `phy_malformed` rather than failing later on a missing field. lora-packet throws plain Errors
 * ("contents too short ..."); they become the driver's typed error.
 */
export function decodePhyPayload(phy: Buffer): LoraPacket {
  let pkt: LoraPacket;
  try {
    pkt = lp.fromWire(phy);
  } catch (err) {
    throw new LorawanError('phy_malformed', `PHYPayload does not parse: ${(err as Error).message}`);
  }
  const mtype = pkt.getMType();
  if (mtype === 'Join Request') {
    // MHDR | AppEUI 8 | DevEUI 8 | DevNonce 2 | MIC 4 (§6.2.4)
    if (phy.length !== 23)
      throw new LorawanError('phy_malformed', `join-request of ${phy.length} bytes, 23 expected`);
  } else if (mtype === 'Unconfirmed Data Up' || mtype === 'Confirmed Data Up') {
    // MHDR | DevAddr 4 | FCtrl 1 | FCnt 2 | FOpts 0..15 | [FPort | FRMPayload] | MIC 4 (§4.3).
    // lora-packet reads FCnt without a bounds check (a RangeError on a short frame).
    const fOptsLen = phy.length > 5 ? phy[5]! & 0x0f : 0;
    if (phy.length < 12 + fOptsLen)
      throw new LorawanError(
        'phy_malformed',
        `data frame of ${phy.length} bytes, at least ${12 + fOptsLen} expected (FOptsLen ${fOptsLen})`,
      );
  }
  return pkt;
}
