import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUZZ_SEED, decodeChecked, framesFrom, fuzzParams, typedWithCode, waitFor } from '@village/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDataUplink } from '../src/lorawan/data-uplink.js';
import { LorawanError } from '../src/lorawan/errors.js';
import { createLorawanDriver } from '../src/lorawan/index.js';
import { type OtaaDevice, acceptJoin } from '../src/lorawan/join-request.js';
import { lp } from '../src/lorawan/lora-packet-lib.js';
import { decodePhyPayload } from '../src/lorawan/phy-payload.js';
import { parseDatagram, parsePushData, parseTxAck, rxpkSchema } from '../src/lorawan/semtech-udp.js';
import { type SessionStore, openSessionStore } from '../src/lorawan/session-store.js';
import { createRecordingContext } from './lorawan-fixtures/recording-context.js';

/**
 * Semtech UDP datagrams and LoRaWAN PHYPayloads under random, truncated and mutated input: each
 * decoder returns or throws LorawanError with a code, quickly. Then the same inputs over a real
 * UDP socket into a running driver: nothing reaches its "unexpected error" path, and a good
 * frame sent after the garbage is still stored.
 */
const typed = typedWithCode(LorawanError);
const GW = 'aa555a0000000001';
const DEV_ADDR = Buffer.from('01000001', 'hex');
const NWK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const APP = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');
const APP_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const DEV_EUI = '70b3d57ed0000001';
const APP_EUI = '70b3d57ed0000099';

const dataUp = (fCnt: number, fPort: number, payload: Buffer, confirmed = false) =>
  lp
    .fromFields(
      {
        MType: confirmed ? 'Confirmed Data Up' : 'Unconfirmed Data Up',
        DevAddr: DEV_ADDR,
        FCtrl: { ADR: false, ACK: false, ADRACKReq: false, FPending: false },
        FCnt: fCnt,
        FPort: fPort,
        payload,
      },
      APP,
      NWK,
    )
    .getPHYPayload() as Buffer;
const joinRequest = (nonce: number) =>
  lp
    .fromFields(
      {
        MType: 'Join Request',
        AppEUI: Buffer.from(APP_EUI, 'hex'),
        DevEUI: Buffer.from(DEV_EUI, 'hex'),
        DevNonce: Buffer.from([nonce >> 8, nonce & 0xff]),
      },
      undefined,
      undefined,
      APP_KEY,
    )
    .getPHYPayload() as Buffer;
// lora-pm25 payload (fPort 2): 35.2 µg/m³, 80.1, -4.5 °C, 55 %, 90 %
const PM25 = Buffer.from('016003210fd33759', 'hex');
const PHYS = [
  dataUp(1, 2, PM25),
  dataUp(7, 0, Buffer.from('02', 'hex')),
  dataUp(9, 2, PM25, true),
  joinRequest(1),
];

const rxpk = (phy: Buffer) => ({
  tmst: 3512348611,
  freq: 470.3,
  chan: 0,
  rfch: 0,
  stat: 1,
  modu: 'LORA',
  datr: 'SF7BW125',
  codr: '4/5',
  rssi: -35,
  lsnr: 5.1,
  size: phy.length,
  data: phy.toString('base64'),
});
const header = (token: number, id: number) => Buffer.from([2, token >> 8, token & 0xff, id]);
const eui = Buffer.from(GW, 'hex');
const pushData = (body: object, token = 0x1234) =>
  Buffer.concat([header(token, 0), eui, Buffer.from(JSON.stringify(body))]);
const DATAGRAMS = [
  pushData({ rxpk: [rxpk(PHYS[0]!)] }),
  pushData({ rxpk: [rxpk(PHYS[2]!), rxpk(PHYS[3]!)], stat: { time: '2026-12-01 09:00:00 GMT', rxnb: 2 } }),
  pushData({ stat: { lati: 30.1, long: 120.2, alti: 12, rxok: 1 } }),
  Buffer.concat([header(0x2222, 2), eui]),
  Buffer.concat([header(0x3333, 5), eui, Buffer.from('{"txpk_ack":{"error":"NONE"}}')]),
];

/** What the driver does with one datagram before any I/O, as pure calls. */
function decodeDatagram(msg: Uint8Array) {
  const p = parseDatagram(msg);
  if (p.type === 'PUSH_DATA') {
    const { rxpk } = parsePushData(p.body);
    return rxpk.map((r) => rxpkSchema.safeParse(r).success);
  }
  if (p.type === 'TX_ACK') return parseTxAck(p.body);
  return p;
}

describe('Semtech UDP decoder (fuzz)', () => {
  it('random, truncated and mutated datagrams: a result or LorawanError, quickly', () => {
    for (const d of DATAGRAMS) expect(decodeChecked(() => decodeDatagram(d), typed, 'semtech').ok).toBe(true);
    fc.assert(
      fc.property(framesFrom(DATAGRAMS), (msg) => {
        decodeChecked(() => decodeDatagram(msg), typed, 'semtech');
      }),
      fuzzParams,
    );
  });
});

describe('LoRaWAN PHYPayload decoder (fuzz)', () => {
  let store: SessionStore;
  const otaa = new Map<string, OtaaDevice>([
    [DEV_EUI, { devEui: DEV_EUI, appEui: APP_EUI, appKey: APP_KEY }],
  ]);
  beforeAll(() => {
    store = openSessionStore(mkdtempSync(join(tmpdir(), 'fuzz-phy-')));
  });
  afterAll(() => store.close());

  it('random, truncated and mutated PHYPayloads: decode, MIC check, decrypt and join give LorawanError or a result', () => {
    for (const phy of PHYS) expect(decodeChecked(() => decodePhyPayload(phy), typed, 'phy').ok).toBe(true);
    fc.assert(
      fc.property(framesFrom(PHYS, 64), (bytes) => {
        const phy = Buffer.from(bytes);
        decodeChecked(
          () => {
            const pkt = decodePhyPayload(phy);
            const mtype = pkt.getMType();
            if (mtype === 'Join Request')
              return acceptJoin(pkt, otaa, store, Buffer.from('000000', 'hex'), () => true);
            if (mtype === 'Unconfirmed Data Up' || mtype === 'Confirmed Data Up') {
              const session = {
                devEui: DEV_EUI,
                devAddr: '01000001',
                nwkSKey: NWK,
                appSKey: APP,
                fCntUp: -1,
                fCntDown: 0,
              };
              return verifyDataUplink(pkt, [session]);
            }
            return mtype;
          },
          typed,
          'phy',
        );
      }),
      // Found by this test: a 6-byte data frame made lora-packet's getFCnt throw a RangeError.
      { ...fuzzParams, examples: [[Uint8Array.from([0x40, 1, 0, 0, 1, 0])]] },
    );
  });
});

describe('LoRaWAN driver over real UDP (fuzz)', () => {
  it(
    'a stream of fuzzed datagrams never reaches the unexpected-error path; a good frame after it is stored',
    { timeout: 30_000 },
    async () => {
      const ctx = createRecordingContext();
      const driver = createLorawanDriver({
        port: 0,
        bind: '127.0.0.1',
        gateways: [{ eui: GW }],
        dedupWindowMs: 0,
        devices: [
          {
            id: 'pm-1',
            devEui: '70b3d57ed0000002',
            codec: 'lora-pm25',
            activation: 'abp',
            devAddr: '01000001',
            nwkSKey: NWK.toString('hex'),
            appSKey: APP.toString('hex'),
          },
        ],
      });
      await driver.start(ctx);
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      try {
        // PUSH_DATA whose PHYPayload is fuzzed (reaches the LoRaWAN layer), and fuzzed datagrams.
        const phyInPush = framesFrom(PHYS, 64).map((p) => pushData({ rxpk: [rxpk(Buffer.from(p))] }));
        const inputs = fc.sample(fc.oneof(phyInPush, framesFrom(DATAGRAMS)), {
          seed: FUZZ_SEED,
          numRuns: 400,
        });
        const send = (b: Uint8Array) =>
          new Promise<void>((r, j) => sock.send(b, driver.port(), '127.0.0.1', (e) => (e ? j(e) : r())));
        for (const b of inputs) await send(b);
        await send(pushData({ rxpk: [rxpk(dataUp(50_000, 2, PM25))] }));
        await waitFor('the good frame stored', () =>
          ctx.readings.some((r) => r.device === 'pm-1' && r.metric === 'pm2_5'),
        );
        expect(driver.status().errors.internal).toBeUndefined();
        expect(ctx.failures).toEqual([]);
        expect(ctx.logs.filter((l) => l.level === 'error')).toEqual([]);
      } finally {
        sock.close();
        await driver.stop();
        ctx.cleanup();
      }
    },
  );
});
