import { randomInt } from 'node:crypto';
import { LorawanError } from './errors.js';
import { type LoraPacket, lp } from './lora-packet-lib.js';
import { RX1_DR_OFFSET } from './rx-window.js';
import type { Session, SessionStore } from './session-store.js';

/** An OTAA device as the join server knows it. */
export interface OtaaDevice {
  devEui: string;
  appEui: string;
  appKey: Buffer;
}

export interface JoinResult {
  session: Session;
  /** Encrypted join-accept PHYPayload, ready for the air. */
  joinAccept: Buffer;
}

/**
 * Handles a LoRaWAN 1.0.x join-request (§6.2.4-6.2.5): checks the MIC with AppKey, refuses a
 * DevNonce the device used before (replay protection), allocates a JoinNonce (AppNonce) and a
 * DevAddr, derives NwkSKey/AppSKey and stores the session, then builds the join-accept, MIC'd
 * and encrypted with AppKey.
 *
 * `isDevAddrFree` lets the caller avoid handing out an address already in use.
 */
export function acceptJoin(
  pkt: LoraPacket,
  devices: ReadonlyMap<string, OtaaDevice>,
  store: SessionStore,
  netId: Buffer,
  isDevAddrFree: (devAddr: string) => boolean,
): JoinResult {
  const devEui = pkt.DevEUI!.toString('hex');
  const appEui = pkt.AppEUI!.toString('hex');
  const device = devices.get(devEui);
  if (device === undefined || device.appEui !== appEui) {
    throw new LorawanError(
      'join_unknown_device',
      `DevEUI ${devEui} / AppEUI ${appEui} is not configured for OTAA`,
    );
  }
  if (!lp.verifyMIC(pkt, undefined, device.appKey)) {
    throw new LorawanError('join_mic_invalid', `DevEUI ${devEui}: join-request MIC does not match AppKey`);
  }
  const devNonce = pkt.DevNonce!;
  const devAddr = allocateDevAddr(netId, isDevAddrFree);
  let joinNonce = Buffer.alloc(3);
  const result = store.join(devEui, devNonce.readUInt16BE(), (n) => {
    joinNonce = Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
    const keys = lp.generateSessionKeys(device.appKey, netId, joinNonce, devNonce);
    return { devEui, devAddr, nwkSKey: keys.NwkSKey, appSKey: keys.AppSKey, fCntUp: -1, fCntDown: 0 };
  });
  if (result === 'devnonce_reused') {
    throw new LorawanError(
      'join_devnonce_reused',
      `DevEUI ${devEui}: DevNonce ${devNonce.toString('hex')} was used before`,
    );
  }
  const joinAccept = buildJoinAccept({
    appKey: device.appKey,
    joinNonce,
    netId,
    devAddr: Buffer.from(devAddr, 'hex'),
    // RX1DROffset in bits 6..4, RX2 datarate (DR0, the regional default) in bits 3..0.
    dlSettings: (RX1_DR_OFFSET & 0x7) << 4,
    // RxDelay 1 s, the default RECEIVE_DELAY1.
    rxDelay: 1,
  });
  return { session: result, joinAccept };
}

/** DevAddr = NwkID (7 low bits of NetID, LoRaWAN 1.0.4 §6.1.1) | random 25-bit NwkAddr. */
function allocateDevAddr(netId: Buffer, isFree: (devAddr: string) => boolean): string {
  const nwkId = netId[2]! & 0x7f;
  for (;;) {
    const addr = ((nwkId << 25) | randomInt(0, 1 << 25)) >>> 0;
    const hex = addr.toString(16).padStart(8, '0');
    if (isFree(hex)) return hex;
  }
}

/** Join-accept PHYPayload: MIC over the plain message with AppKey, then encrypted with AppKey (§6.2.5). */
export function buildJoinAccept(f: {
  appKey: Buffer;
  joinNonce: Buffer;
  netId: Buffer;
  devAddr: Buffer;
  dlSettings: number;
  rxDelay: number;
}): Buffer {
  const accept = lp.fromFields(
    {
      MType: 'Join Accept',
      AppNonce: f.joinNonce,
      NetID: f.netId,
      DevAddr: f.devAddr,
      DLSettings: Buffer.from([f.dlSettings]),
      RxDelay: Buffer.from([f.rxDelay]),
      CFList: Buffer.alloc(0),
    },
    undefined,
    undefined,
    f.appKey,
  );
  return accept.getPHYPayload() as Buffer;
}
