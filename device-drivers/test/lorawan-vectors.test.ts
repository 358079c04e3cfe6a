import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyDataUplink } from '../src/lorawan/data-uplink.js';
import { LorawanError } from '../src/lorawan/errors.js';
import { fullFCnt } from '../src/lorawan/frame-counter.js';
import { acceptJoin, buildJoinAccept } from '../src/lorawan/join-request.js';
import { lp } from '../src/lorawan/lora-packet-lib.js';
import { REGIONS } from '../src/lorawan/region.js';
import { type Session, openSessionStore } from '../src/lorawan/session-store.js';

/**
 * Published test vectors, run through this driver's own code paths (not re-derived here).
 * Sources, each cited at its use:
 *  - brocaar/lorawan (ChirpStack's Go LoRaWAN library), phypayload_test.go
 *  - anthonykirby/lora-packet, __tests__/key_gen_test.ts
 */
const bytes = (...b: number[]) => Buffer.from(b);
const fill = (v: number) => Buffer.alloc(16, v);
const session = (over: Partial<Session>): Session => ({
  devEui: '0000000000000001',
  devAddr: '01020304',
  nwkSKey: fill(0),
  appSKey: fill(0),
  fCntUp: -1,
  fCntDown: 0,
  ...over,
});

describe('data uplink MIC and FRMPayload decryption (LoRaWAN 1.0)', () => {
  it('brocaar/lorawan phypayload_test.go TestPHYPayloadMACPayloadLoRaWAN10 "FRMPayload data"', () => {
    // NwkSKey 02×16, AppSKey 01×16, DevAddr 01020304, FCnt 1, FPort 1, payload "hello".
    const phy = bytes(64, 4, 3, 2, 1, 128, 1, 0, 1, 166, 148, 100, 38, 21, 214, 195, 181, 130);
    const up = verifyDataUplink(lp.fromWire(phy), [session({ nwkSKey: fill(2), appSKey: fill(1) })]);
    expect(up.fCnt).toBe(1);
    expect(up.fPort).toBe(1);
    expect(up.confirmed).toBe(false);
    expect(up.payload.toString()).toBe('hello');
  });

  it('brocaar/lorawan phypayload_test.go ExamplePHYPayload_lorawan10Decode (confirmed, FOpts present)', () => {
    // NwkSKey 01..10, AppSKey 10..01, ConfirmedDataUp, FCnt 0, FPort 10, FRMPayload [1 2 3 4].
    const phy = Buffer.from('gAQDAgEDAAAGcwcK4mTU9+EX0sA=', 'base64');
    const nwkSKey = bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const appSKey = bytes(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    const up = verifyDataUplink(lp.fromWire(phy), [session({ nwkSKey, appSKey })]);
    expect(up.confirmed).toBe(true);
    expect(up.fCnt).toBe(0);
    expect(up.fPort).toBe(10);
    expect([...up.payload]).toEqual([1, 2, 3, 4]);
  });

  it('the same vector with a wrong NwkSKey is refused as mic_invalid; a repeated FCnt as fcnt_replay', () => {
    const phy = bytes(64, 4, 3, 2, 1, 128, 1, 0, 1, 166, 148, 100, 38, 21, 214, 195, 181, 130);
    const wrong = () => verifyDataUplink(lp.fromWire(phy), [session({ nwkSKey: fill(3), appSKey: fill(1) })]);
    expect(wrong).toThrow(LorawanError);
    expect(wrong).toThrow(/mic_invalid/);
    // Session already accepted FCnt 1: the same frame again is a replay.
    const replay = () =>
      verifyDataUplink(lp.fromWire(phy), [session({ nwkSKey: fill(2), appSKey: fill(1), fCntUp: 1 })]);
    expect(replay).toThrow(/fcnt_replay/);
  });

  it('picks the session whose keys match among sessions sharing a DevAddr', () => {
    const phy = bytes(64, 4, 3, 2, 1, 128, 1, 0, 1, 166, 148, 100, 38, 21, 214, 195, 181, 130);
    const other = session({ devEui: '00000000000000aa', nwkSKey: fill(9) });
    const right = session({ devEui: '00000000000000bb', nwkSKey: fill(2), appSKey: fill(1) });
    expect(verifyDataUplink(lp.fromWire(phy), [other, right]).session.devEui).toBe('00000000000000bb');
  });
});

describe('join-request and join-accept', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('brocaar/lorawan phypayload_test.go TestPHYPayloadJoinRequest: MIC with AppKey 01×16; DevNonce reuse refused', () => {
    // JoinEUI 0102030401020304, DevEUI 0203040502030405, DevNonce 4141.
    const phy = Buffer.from('AAQDAgEEAwIBBQQDAgUEAwItEGqZDhI=', 'base64');
    dir = mkdtempSync(join(tmpdir(), 'lorawan-vec-'));
    const store = openSessionStore(dir);
    const devices = new Map([
      ['0203040502030405', { devEui: '0203040502030405', appEui: '0102030401020304', appKey: fill(1) }],
    ]);
    const netId = bytes(0, 0, 0x13);
    const result = acceptJoin(lp.fromWire(phy), devices, store, netId, () => true);
    expect(result.session.devEui).toBe('0203040502030405');
    // DevAddr carries NwkID = 7 low bits of NetID in its top 7 bits.
    expect(Number.parseInt(result.session.devAddr, 16) >>> 25).toBe(0x13);
    // The session keys are those derived from the JoinNonce actually sent in the join-accept.
    const plain = lp.fromWire(lp.decryptJoinAccept(lp.fromWire(result.joinAccept), fill(1)));
    expect(lp.verifyMIC(plain, undefined, fill(1))).toBe(true);
    expect(plain.DevAddr!.toString('hex')).toBe(result.session.devAddr);
    const keys = lp.generateSessionKeys(fill(1), netId, plain.AppNonce!, Buffer.from([0x10, 0x2d]));
    expect(result.session.nwkSKey.equals(keys.NwkSKey)).toBe(true);
    expect(result.session.appSKey.equals(keys.AppSKey)).toBe(true);
    expect(store.get('0203040502030405')?.devAddr).toBe(result.session.devAddr);
    // Same DevNonce again: refused (replayed join-request).
    expect(() => acceptJoin(lp.fromWire(phy), devices, store, netId, () => true)).toThrow(
      /join_devnonce_reused/,
    );
    // Wrong AppKey: MIC refused.
    const wrongKey = new Map([
      ['0203040502030405', { ...devices.get('0203040502030405')!, appKey: fill(2) }],
    ]);
    expect(() => acceptJoin(lp.fromWire(phy), wrongKey, store, netId, () => true)).toThrow(
      /join_mic_invalid/,
    );
    store.close();
  });

  it('brocaar/lorawan phypayload_test.go ExamplePHYPayload_joinAcceptSend: join-accept MIC + encryption', () => {
    // AppKey 01..10, JoinNonce 65793 (0x010101), NetID 020202, DevAddr 01020304, DLSettings 0, RXDelay 0.
    const phy = buildJoinAccept({
      appKey: bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
      joinNonce: bytes(1, 1, 1),
      netId: bytes(2, 2, 2),
      devAddr: bytes(1, 2, 3, 4),
      dlSettings: 0,
      rxDelay: 0,
    });
    expect([...phy]).toEqual([32, 35, 207, 51, 84, 137, 170, 227, 24, 60, 11, 224, 186, 168, 222, 229, 243]);
  });

  it('brocaar/lorawan phypayload_test.go TestPHYPayloadJoinAccept: the device side decrypts and checks the MIC', () => {
    // Encrypted 20493eeb51fba2116f810edb3742975142 with AppKey 00112233445566778899aabbccddeeff:
    // JoinNonce 5704647, NetID {34,17,1}, DevAddr {2,3,25,128}, MIC {67,72,91,188}.
    const appKey = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const enc = lp.fromWire(Buffer.from('20493eeb51fba2116f810edb3742975142', 'hex'));
    const plain = lp.fromWire(lp.decryptJoinAccept(enc, appKey));
    expect(plain.AppNonce!.readUIntBE(0, 3)).toBe(5704647);
    expect([...plain.NetID!]).toEqual([34, 17, 1]);
    expect([...plain.DevAddr!]).toEqual([2, 3, 25, 128]);
    expect([...plain.MIC!]).toEqual([67, 72, 91, 188]);
    expect(lp.verifyMIC(plain, undefined, appKey)).toBe(true);
  });
});

describe('session key derivation (LoRaWAN 1.0 §6.2.5)', () => {
  it('anthonykirby/lora-packet __tests__/key_gen_test.ts vector', () => {
    const keys = lp.generateSessionKeys(
      Buffer.from('98929b92c49edba9676d646d3b612456', 'hex'),
      Buffer.from('aabbcc', 'hex'),
      Buffer.from('376338', 'hex'),
      Buffer.from('f18e', 'hex'),
    );
    expect(keys.NwkSKey.toString('hex')).toBe('4e3d6e6afbcc67af2ba3c8e8ec4acf4b');
    expect(keys.AppSKey.toString('hex')).toBe('610897aa6f1460623443b527d3ac6a9d');
  });
});

describe('32-bit FCnt reconstruction', () => {
  it('follows the counter, rolls over at 2^16, and maps a repeat onto the last value', () => {
    expect(fullFCnt(-1, 0)).toBe(0);
    expect(fullFCnt(-1, 7)).toBe(7);
    expect(fullFCnt(5, 6)).toBe(6);
    expect(fullFCnt(5, 5)).toBe(5); // replay: equals last, caller refuses
    expect(fullFCnt(0xfffe, 0x0001)).toBe(0x10001); // rollover
    expect(fullFCnt(0x1fff0, 0xfff5)).toBe(0x1fff5);
    expect(fullFCnt(0x20003, 0x0001)).toBe(0x30001); // an old frame: its MIC (32-bit FCnt) then fails
  });

  it('a frame with FCnt above 2^16 verifies only with the reconstructed upper bytes', () => {
    const s = session({ nwkSKey: fill(2), appSKey: fill(1), fCntUp: 0x1fffe });
    const msb = Buffer.from([1, 0]); // upper half 0x0001, little-endian as lora-packet appends it
    const pkt = lp.fromFields(
      {
        MType: 'Unconfirmed Data Up',
        DevAddr: bytes(1, 2, 3, 4),
        FCnt: 0xffff,
        FPort: 1,
        payload: Buffer.from('x'),
      },
      s.appSKey,
      s.nwkSKey,
      undefined,
      msb,
    );
    const up = verifyDataUplink(lp.fromWire(pkt.getPHYPayload() as Buffer), [s]);
    expect(up.fCnt).toBe(0x1ffff);
    expect(up.payload.toString()).toBe('x');
  });
});

describe('regional receive-window parameters', () => {
  it('CN470 RX1 maps uplink channel n to downlink channel n mod 48; RX2 defaults (RP002 §2.7)', () => {
    expect(REGIONS.CN470.rx1Frequency(470.3)).toBe(500.3);
    expect(REGIONS.CN470.rx1Frequency(479.7)).toBe(509.7); // channel 47 → downlink channel 47
    expect(REGIONS.CN470.rx1Frequency(479.9)).toBe(500.3); // channel 48 → downlink channel 0
    expect(REGIONS.CN470.rx1Frequency(489.3)).toBe(509.7); // channel 95 → downlink channel 47
    expect(REGIONS.CN470.rx2).toEqual({ freqMHz: 505.3, dataRate: 0 });
  });

  it('EU868 RX1 uses the uplink frequency; RX2 869.525 MHz DR0 (RP002 §2.4)', () => {
    expect(REGIONS.EU868.rx1Frequency(868.3)).toBe(868.3);
    expect(REGIONS.EU868.rx2).toEqual({ freqMHz: 869.525, dataRate: 0 });
    expect(REGIONS.EU868.dataRates[0]).toBe('SF12BW125');
  });
});
