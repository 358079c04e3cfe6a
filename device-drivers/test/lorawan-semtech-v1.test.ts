import { type Socket, createSocket } from 'node:dgram';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LorawanDriver, createLorawanDriver } from '../src/lorawan/index.js';
import { lp } from '../src/lorawan/lora-packet-lib.js';
import { type RecordingContext, createRecordingContext } from './lorawan-fixtures/recording-context.js';

/**
 * An older packet forwarder speaking Semtech UDP protocol version 1 (PROTOCOL.TXT v1.x), over a
 * real UDP socket: its datagrams are written byte by byte here from that document, not by the
 * driver's code. The driver must accept them and answer in version 1.
 */
const GATEWAY = 'aa555a00000000f1';
const DEVICE = {
  id: 'old-gw-sensor',
  devEui: '70b3d57ed00000f1',
  codec: 'cayenne' as const,
  activation: 'abp' as const,
  devAddr: '260100f1',
  nwkSKey: '2b7e151628aed2a6abf7158809cf4f3c',
  appSKey: '3c4fcf098815f7aba6d2ae2816157e2b',
};

let ctx: RecordingContext;
let driver: LorawanDriver;
let gw: Socket;
const received: Buffer[] = [];

const send = (b: Buffer) =>
  new Promise<void>((resolve, reject) =>
    gw.send(b, driver.port(), '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
const v1 = (token: number, id: number, rest: Buffer = Buffer.alloc(0)) =>
  Buffer.concat([Buffer.from([1, token >> 8, token & 0xff, id]), Buffer.from(GATEWAY, 'hex'), rest]);
const answer = (pred: (b: Buffer) => boolean, what: string) =>
  waitFor(what, () => received.some(pred)).then(() => received.find(pred)!);

function uplink(fCnt: number): Buffer {
  const phy = lp
    .fromFields(
      {
        MType: 'Unconfirmed Data Up',
        DevAddr: Buffer.from(DEVICE.devAddr, 'hex'),
        FCnt: fCnt,
        FPort: 1,
        payload: Buffer.from('01670110', 'hex'), // Cayenne: temperature 27.2 °C on channel 1
      },
      Buffer.from(DEVICE.appSKey, 'hex'),
      Buffer.from(DEVICE.nwkSKey, 'hex'),
    )
    .getPHYPayload() as Buffer;
  const rxpk = {
    tmst: 1_000_000 + fCnt,
    freq: 470.3,
    chan: 0,
    rfch: 0,
    stat: 1,
    modu: 'LORA',
    datr: 'SF7BW125',
    codr: '4/5',
    rssi: -60,
    lsnr: 9.5,
    size: phy.length,
    data: phy.toString('base64'),
  };
  return Buffer.from(JSON.stringify({ rxpk: [rxpk] }));
}

beforeAll(async () => {
  ctx = createRecordingContext();
  driver = createLorawanDriver({
    port: 0,
    bind: '127.0.0.1',
    gateways: [{ eui: GATEWAY }],
    dedupWindowMs: 50,
    devices: [DEVICE],
  });
  await driver.start(ctx);
  gw = createSocket('udp4');
  gw.on('message', (m) => received.push(m));
  await new Promise<void>((r) => gw.bind(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  gw.close();
  await driver.stop();
  ctx.cleanup();
});

describe('Semtech UDP protocol version 1 packet forwarder', () => {
  it('PULL_DATA v1 gets a PULL_ACK v1 with its token', { timeout: 20_000 }, async () => {
    await send(v1(0xabcd, 0x02));
    const ack = await answer((b) => b[3] === 0x04, 'PULL_ACK');
    expect([...ack]).toEqual([1, 0xab, 0xcd, 0x04]);
  });

  it(
    'PUSH_DATA v1 is acknowledged in v1 and decoded; a queued downlink goes out as a v1 PULL_RESP',
    { timeout: 20_000 },
    async () => {
      await driver.command!({
        id: 'dl-1',
        device: DEVICE.id,
        action: 'downlink',
        params: { fPort: 5, payloadHex: '0102' },
      });
      await send(v1(0x1234, 0x00, uplink(1)));
      const ack = await answer((b) => b[3] === 0x01, 'PUSH_ACK');
      expect([...ack]).toEqual([1, 0x12, 0x34, 0x01]);
      await waitFor('reading', () => ctx.readings.length > 0);
      expect(ctx.readings).toContainEqual(
        expect.objectContaining({ device: DEVICE.id, metric: 'temperature_1', value: 27.2 }),
      );
      const resp = await answer((b) => b[3] === 0x03, 'PULL_RESP');
      // v1: version 1, bytes 1-2 unused (0), then the txpk JSON
      expect([...resp.subarray(0, 4)]).toEqual([1, 0, 0, 0x03]);
      const { txpk } = JSON.parse(resp.subarray(4).toString('utf8'));
      const down = lp.fromWire(Buffer.from(txpk.data, 'base64'));
      expect(down.getMType()).toBe('Unconfirmed Data Down');
      expect(down.getFPort()).toBe(5);
    },
  );

  it(
    'a TX_ACK in v1 (which has none) is refused and counted; v3 is still unknown',
    { timeout: 20_000 },
    async () => {
      await send(v1(0x0001, 0x05, Buffer.from('{"txpk_ack":{"error":"NONE"}}')));
      await send(Buffer.concat([Buffer.from([3, 0, 1, 0x02]), Buffer.from(GATEWAY, 'hex')]));
      await waitFor(
        'both refusals counted',
        () => ctx.errorCount('udp_unknown_type') === 1 && ctx.errorCount('udp_unknown_version') === 1,
      );
      expect(driver.status().gateways[0]).toMatchObject({ txAcks: 0, txErrors: 0 });
    },
  );
});
