import { fcntMsb } from './frame-counter.js';
import { lp } from './lora-packet-lib.js';
import type { Session } from './session-store.js';

/** A frame waiting for the device's next uplink (class A). */
export interface QueuedDownlink {
  fPort: number;
  payload: Buffer;
  confirmed: boolean;
}

/** Largest FOpts field (FCtrl.FOptsLen is 4 bits). */
export const MAX_FOPTS = 15;

/**
 * Builds a 1.0.x data downlink: FRMPayload encrypted with AppSKey, MIC with NwkSKey over the
 * 32-bit FCntDown. `ack` answers a confirmed uplink; `fPending` tells the device more is queued,
 * so it should uplink again soon (§4.3.1.4). MAC commands (`mac`) ride in FOpts when they fit
 * (15 bytes); otherwise, with no application frame, as an FPort 0 FRMPayload encrypted with
 * NwkSKey, as ChirpStack does. The caller never passes both a frame and more than 15 bytes.
 */
export function buildDataDownlink(
  session: Session,
  fCntDown: number,
  opts: { ack: boolean; fPending: boolean; frame?: QueuedDownlink; mac?: Buffer },
): Buffer {
  const msb = fcntMsb(fCntDown);
  const mac = opts.mac ?? Buffer.alloc(0);
  const inFOpts = mac.length <= MAX_FOPTS;
  if (!inFOpts && opts.frame)
    throw new Error(`${mac.length} bytes of MAC commands do not fit beside a frame`);
  const body = opts.frame
    ? { FPort: opts.frame.fPort, payload: opts.frame.payload }
    : inFOpts
      ? { payload: Buffer.alloc(0) }
      : { FPort: 0, payload: mac };
  const pkt = lp.fromFields(
    {
      MType: opts.frame?.confirmed ? 'Confirmed Data Down' : 'Unconfirmed Data Down',
      DevAddr: Buffer.from(session.devAddr, 'hex'),
      FCtrl: { ACK: opts.ack, FPending: opts.fPending, ADR: false, ADRACKReq: false },
      FCnt: fCntDown & 0xffff,
      ...(inFOpts && mac.length > 0 ? { FOpts: mac } : {}),
      ...body,
    },
    session.appSKey,
    session.nwkSKey,
    undefined,
    msb,
  );
  // lora-packet signs only frames with an FPort; a frame without one is signed here.
  if (body.FPort === undefined) lp.recalculateMIC(pkt, session.nwkSKey, undefined, msb);
  return pkt.getPHYPayload() as Buffer;
}
