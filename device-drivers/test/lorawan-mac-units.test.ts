import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADR_HISTORY, type AdrHistoryEntry, defaultAdr } from '../src/lorawan/adr.js';
import { MAX_FOPTS, buildDataDownlink } from '../src/lorawan/downlink-frame.js';
import { LorawanError } from '../src/lorawan/errors.js';
import { lp } from '../src/lorawan/lora-packet-lib.js';
import { encodeDownlinkMac, parseUplinkMac } from '../src/lorawan/mac-commands.js';

// Pure pieces behind the over-UDP tests in lorawan-mac.test.ts: the cases the simulator does not reach.
const history = (n: number, snr: number, txPowerIndex = 0, gapEvery = 0): AdrHistoryEntry[] => {
  let fCnt = 0;
  return Array.from({ length: n }, (_, i) => {
    fCnt += gapEvery > 0 && i > 0 && i % gapEvery === 0 ? 2 : 1;
    return { fCnt, maxSnr: snr, txPowerIndex };
  });
};
const req = {
  dr: 5,
  txPowerIndex: 3,
  nbTrans: 1,
  maxDr: 5,
  maxTxPowerIndex: 7,
  requiredSnr: -7.5,
  installationMargin: 10,
};

describe('ChirpStack default ADR', () => {
  it('raises TX power on negative steps only with a full history at the current power', () => {
    // -8 dB at SF7: margin -8 + 7.5 - 10 = -10.5 → -3 steps.
    expect(defaultAdr({ ...req, history: history(5, -8, 3) })).toEqual({
      dr: 5,
      txPowerIndex: 3,
      nbTrans: 1,
    });
    expect(defaultAdr({ ...req, history: history(ADR_HISTORY, -8, 3) })).toEqual({
      dr: 5,
      txPowerIndex: 0,
      nbTrans: 1,
    });
  });
  it('raises NbTrans with packet loss over a full history', () => {
    // A frame missing every 5: 3 lost in 20 = 15 % → the 10..30 % row → NbTrans 2 from 1.
    expect(defaultAdr({ ...req, history: history(ADR_HISTORY, -2.5, 3, 5) }).nbTrans).toBe(2);
  });
});

describe('MAC command framing', () => {
  it('parses uplink answers and refuses an unknown or truncated command with mac_malformed', () => {
    expect(parseUplinkMac(Buffer.from('0203070604fe', 'hex'))).toEqual([
      { cid: 'LinkCheckReq' },
      { cid: 'LinkADRAns', powerAck: true, dataRateAck: true, channelMaskAck: true },
      { cid: 'DevStatusAns', battery: 4, margin: -2 },
    ]);
    expect(() => parseUplinkMac(Buffer.from('ee', 'hex'))).toThrow(LorawanError);
    expect(() => parseUplinkMac(Buffer.from('06ff', 'hex'))).toThrow(/mac_malformed/);
  });
  it('puts more than 15 bytes of MAC commands in an FPort 0 FRMPayload encrypted with NwkSKey', () => {
    const session = {
      devEui: '00',
      devAddr: '01020304',
      nwkSKey: Buffer.alloc(16, 1),
      appSKey: Buffer.alloc(16, 2),
      fCntUp: 0,
      fCntDown: 0,
    };
    const mac = encodeDownlinkMac(
      Array.from({ length: 6 }, () => ({ cid: 'LinkCheckAns' as const, margin: 20, gwCnt: 1 })),
    );
    expect(mac.length).toBeGreaterThan(MAX_FOPTS);
    const pkt = lp.fromWire(buildDataDownlink(session, 5, { ack: false, fPending: false, mac }));
    expect(pkt.getFPort()).toBe(0);
    expect(pkt.FOpts?.length).toBe(0);
    expect(lp.verifyMIC(pkt, session.nwkSKey)).toBe(true);
    expect(lp.decrypt(pkt, session.appSKey, session.nwkSKey)).toEqual(mac);
    const small = lp.fromWire(
      buildDataDownlink(session, 6, { ack: true, fPending: false, mac: mac.subarray(0, 3) }),
    );
    expect(small.getFPort()).toBeNull();
    expect(small.FOpts).toEqual(mac.subarray(0, 3));
    expect(lp.verifyMIC(small, session.nwkSKey)).toBe(true);
  });
});

describe('MAC parser on arbitrary bytes', () => {
  it('returns commands or throws LorawanError mac_malformed, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          expect(Array.isArray(parseUplinkMac(Buffer.from(bytes)))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(LorawanError);
          expect((err as LorawanError).code).toBe('mac_malformed');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
