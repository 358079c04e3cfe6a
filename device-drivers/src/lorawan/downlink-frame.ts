import { fcntMsb } from './frame-counter.js';
import { lp } from './lora-packet-lib.js';
import type { Session } from './session-store.js';

/** A frame waiting for the device's next uplink (class A). */
export interface QueuedDownlink {
  fPort: number;
  payload: Buffer;
  confirmed: boolean;
}

/**
 * Builds a 1.0.x data downlink: FRMPayload encrypted with AppSKey, MIC with NwkSKey over the
 * 32-bit FCntDown. `ack` answers a confirmed uplink; `fPending` tells the device more is queued,
 * so it should uplink again soon (§4.3.1.4).
 */
export function buildDataDownlink(
  session: Session,
  fCntDown: number,
  opts: { ack: boolean; fPending: boolean; frame?: QueuedDownlink },
): Buffer {
  const msb = fcntMsb(fCntDown);
  const pkt = lp.fromFields(
    {
      MType: opts.frame?.confirmed ? 'Confirmed Data Down' : 'Unconfirmed Data Down',
      DevAddr: Buffer.from(session.devAddr, 'hex'),
      FCtrl: { ACK: opts.ack, FPending: opts.fPending, ADR: false, ADRACKReq: false },
      FCnt: fCntDown & 0xffff,
      ...(opts.frame
        ? { FPort: opts.frame.fPort, payload: opts.frame.payload }
        : { payload: Buffer.alloc(0) }),
    },
    session.appSKey,
    session.nwkSKey,
    undefined,
    msb,
  );
  // lora-packet signs only frames with an FPort; an ACK-only frame is signed here.
  if (!opts.frame) lp.recalculateMIC(pkt, session.nwkSKey, undefined, msb);
  return pkt.getPHYPayload() as Buffer;
}
