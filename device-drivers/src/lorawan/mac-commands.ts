import { LorawanError } from './errors.js';

/**
 * LoRaWAN 1.0.x MAC commands (§5), the ones this server speaks: LinkCheck, LinkADR and
 * DevStatus. lora-packet frames FOpts and encrypts FPort 0 with NwkSKey, but has no MAC-command
 * codec, so the CIDs are read and written here. Uplink answers of the commands a device may
 * send unasked carry fixed lengths; an unknown CID ends parsing (its length is unknown).
 */
export const CID = { LinkCheck: 0x02, LinkADR: 0x03, DevStatus: 0x06 } as const;

/** Payload length of each uplink MAC command (device → server), LoRaWAN 1.0.4 table 4. */
const UPLINK_LENGTH: Record<number, number> = {
  1: 1, // ResetInd (1.1)
  2: 0, // LinkCheckReq
  3: 1, // LinkADRAns
  4: 0, // DutyCycleAns
  5: 1, // RXParamSetupAns
  6: 2, // DevStatusAns
  7: 1, // NewChannelAns
  8: 0, // RXTimingSetupAns
  9: 0, // TxParamSetupAns
  10: 1, // DlChannelAns
  13: 0, // DeviceTimeReq
};

export type UplinkMac =
  | { cid: 'LinkCheckReq' }
  | { cid: 'LinkADRAns'; powerAck: boolean; dataRateAck: boolean; channelMaskAck: boolean }
  /** battery: 0 external power, 1..254 level, 255 unknown; margin: SNR of DevStatusReq, dB, -32..31. */
  | { cid: 'DevStatusAns'; battery: number; margin: number }
  | { cid: 'other'; code: number; payload: Buffer };

export type DownlinkMac =
  | { cid: 'LinkCheckAns'; margin: number; gwCnt: number }
  | {
      cid: 'LinkADRReq';
      dataRate: number;
      txPower: number;
      chMask: number;
      chMaskCntl: number;
      nbTrans: number;
    }
  | { cid: 'DevStatusReq' };

/** Parses the MAC commands of FOpts or of an FPort 0 FRMPayload. Throws mac_malformed. */
export function parseUplinkMac(buf: Buffer): UplinkMac[] {
  const out: UplinkMac[] = [];
  let i = 0;
  while (i < buf.length) {
    const code = buf[i]!;
    const len = UPLINK_LENGTH[code];
    if (len === undefined) {
      throw new LorawanError(
        'mac_malformed',
        `unknown uplink MAC command 0x${code.toString(16)} at byte ${i}`,
      );
    }
    if (i + 1 + len > buf.length) {
      throw new LorawanError(
        'mac_malformed',
        `MAC command 0x${code.toString(16)} needs ${len} bytes, has ${buf.length - i - 1}`,
      );
    }
    const p = buf.subarray(i + 1, i + 1 + len);
    if (code === CID.LinkCheck) out.push({ cid: 'LinkCheckReq' });
    else if (code === CID.LinkADR)
      out.push({
        cid: 'LinkADRAns',
        powerAck: (p[0]! & 0x04) !== 0,
        dataRateAck: (p[0]! & 0x02) !== 0,
        channelMaskAck: (p[0]! & 0x01) !== 0,
      });
    else if (code === CID.DevStatus) {
      // Margin is a 6-bit signed integer (§5.5).
      const m = p[1]! & 0x3f;
      out.push({ cid: 'DevStatusAns', battery: p[0]!, margin: m >= 32 ? m - 64 : m });
    } else out.push({ cid: 'other', code, payload: Buffer.from(p) });
    i += 1 + len;
  }
  return out;
}

export function encodeDownlinkMac(cmds: readonly DownlinkMac[]): Buffer {
  return Buffer.concat(
    cmds.map((c) => {
      switch (c.cid) {
        case 'LinkCheckAns':
          return Buffer.from([CID.LinkCheck, Math.max(0, Math.min(254, c.margin)), Math.min(255, c.gwCnt)]);
        case 'LinkADRReq':
          return Buffer.from([
            CID.LinkADR,
            ((c.dataRate & 0x0f) << 4) | (c.txPower & 0x0f),
            c.chMask & 0xff,
            (c.chMask >> 8) & 0xff,
            ((c.chMaskCntl & 0x07) << 4) | (c.nbTrans & 0x0f),
          ]);
        case 'DevStatusReq':
          return Buffer.from([CID.DevStatus]);
      }
    }),
  );
}
