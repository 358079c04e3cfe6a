import { LorawanError } from './errors.js';
import { fcntMsb, fullFCnt } from './frame-counter.js';
import { type LoraPacket, lp } from './lora-packet-lib.js';
import type { Session } from './session-store.js';

/** An authenticated, decrypted data uplink. */
export interface DataUplink {
  session: Session;
  fCnt: number;
  confirmed: boolean;
  /** The device acknowledges our last confirmed downlink. */
  ack: boolean;
  /** The device lets the server manage its datarate and power (FCtrl.ADR). */
  adr: boolean;
  /** The device asks for any downlink, to know it is still heard (FCtrl.ADRACKReq). */
  adrAckReq: boolean;
  /** MAC commands piggybacked in the header (1.0.x: not encrypted). */
  fOpts: Buffer;
  /** null when the frame carries no FRMPayload (only MAC commands or an empty keep-alive). */
  fPort: number | null;
  payload: Buffer;
}

/**
 * Authenticates a data uplink against the sessions sharing its DevAddr (DevAddrs need not be
 * unique: the MIC tells which session it is, LoRaWAN 1.0.4 §6.1.1), then checks the counter and
 * decrypts. Throws LorawanError mic_invalid / fcnt_replay.
 */
export function verifyDataUplink(pkt: LoraPacket, candidates: readonly Session[]): DataUplink {
  const fcnt16 = pkt.getFCnt();
  if (fcnt16 === null) throw new LorawanError('phy_malformed', 'data frame without FCnt');
  for (const session of candidates) {
    const fCnt = fullFCnt(session.fCntUp, fcnt16);
    const msb = fcntMsb(fCnt);
    if (!lp.verifyMIC(pkt, session.nwkSKey, undefined, msb)) continue;
    if (fCnt <= session.fCntUp) {
      throw new LorawanError(
        'fcnt_replay',
        `DevEUI ${session.devEui}: FCnt ${fCnt} not above last ${session.fCntUp}`,
      );
    }
    const fPort = pkt.getFPort();
    // FPort 0 carries MAC commands encrypted with NwkSKey; lora-packet picks the key by port.
    const payload = fPort === null ? Buffer.alloc(0) : lp.decrypt(pkt, session.appSKey, session.nwkSKey, msb);
    return {
      session,
      fCnt,
      confirmed: pkt.isConfirmed(),
      ack: pkt.getFCtrlACK() === true,
      adr: pkt.getFCtrlADR() === true,
      adrAckReq: pkt.getFCtrlADRACKReq() === true,
      fOpts: Buffer.from(pkt.FOpts ?? Buffer.alloc(0)),
      fPort,
      payload,
    };
  }
  const devAddr = pkt.DevAddr?.toString('hex');
  throw new LorawanError(
    'mic_invalid',
    `DevAddr ${devAddr}: MIC matches none of ${candidates.length} session(s)`,
  );
}
