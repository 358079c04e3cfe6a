import { type Socket, createSocket } from 'node:dgram';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lorawanConfigSchema } from '../src/lorawan/config.js';
import { type LorawanDriver, createLorawanDriver } from '../src/lorawan/index.js';
import { lp } from '../src/lorawan/lora-packet-lib.js';
import { type RecordingContext, createRecordingContext } from './lorawan-fixtures/recording-context.js';

/**
 * Issue 13 finding 10 (Semtech UDP has no authentication): a gateway's allowedSources decide who
 * may speak for its EUI. Real UDP sockets on 127.0.0.1 (the gateway) and 127.0.0.2 (an attacker
 * on the same network; both are loopback on Linux) against the driver on 127.0.0.1.
 */
const GW = 'aa555a0000000001';
const DEV_ADDR = Buffer.from('01000001', 'hex');
const NWK = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const APP = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');

type Peer = { sock: Socket; port: number; got: Buffer[] };
async function peer(address: string): Promise<Peer> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, address, r));
  return { sock, port: sock.address().port, got };
}
const header = (token: number, id: number) => Buffer.from([2, token >> 8, token & 0xff, id]);
const pullData = (token: number) => Buffer.concat([header(token, 2), Buffer.from(GW, 'hex')]);
const confirmedUp = (fCnt: number) => {
  const phy = lp
    .fromFields(
      {
        MType: 'Confirmed Data Up',
        DevAddr: DEV_ADDR,
        FCtrl: { ADR: false, ACK: false, ADRACKReq: false, FPending: false },
        FCnt: fCnt,
        FPort: 2,
        payload: Buffer.from('016003210fd33759', 'hex'),
      },
      APP,
      NWK,
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
    rssi: -40,
    lsnr: 7,
    size: phy.length,
    data: phy.toString('base64'),
  };
  return Buffer.concat([
    header(0x100 + fCnt, 0),
    Buffer.from(GW, 'hex'),
    Buffer.from(JSON.stringify({ rxpk: [rxpk] })),
  ]);
};
const isPullResp = (m: Buffer) => m[3] === 3;
const isPullAck = (token: number) => (m: Buffer) => m[3] === 4 && m.readUInt16BE(1) === token;

describe('Semtech UDP: per-gateway allowed sources', () => {
  let ctx: RecordingContext;
  let driver: LorawanDriver;
  const peers: Peer[] = [];
  const open = async (address: string) => {
    const p = await peer(address);
    peers.push(p);
    return p;
  };
  const send = (p: Peer, b: Buffer) => p.sock.send(b, driver.port(), '127.0.0.1');

  beforeAll(async () => {
    ctx = createRecordingContext();
    driver = createLorawanDriver({
      port: 0,
      bind: '127.0.0.1',
      gateways: [{ eui: GW, allowedSources: ['127.0.0.1/32'] }],
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
  });
  afterAll(async () => {
    for (const p of peers) p.sock.close();
    await driver.stop();
    ctx.cleanup();
  });

  it('a PULL_DATA for the gateway from a non-allowed address is refused and never becomes its downlink route', async () => {
    const gateway = await open('127.0.0.1');
    const attacker = await open('127.0.0.2');
    send(gateway, pullData(0x0101));
    await waitFor("the gateway's PULL_ACK", () => gateway.got.some(isPullAck(0x0101)));
    send(attacker, pullData(0x0202));
    await waitFor('the refusal counted', () => ctx.errorCount('gateway_source_refused') === 1);
    expect(driver.status().gateways[0]?.pullAddress).toEqual({ address: '127.0.0.1', port: gateway.port });
    // A confirmed uplink is answered (ACK) through the route: it must reach the gateway.
    send(gateway, confirmedUp(1));
    await waitFor('the ACK downlink at the gateway', () => gateway.got.some(isPullResp));
    expect(attacker.got).toEqual([]);
    expect(ctx.logs.some((l) => /outside its allowedSources/.test(l.msg ?? '') && l.level === 'warn')).toBe(
      true,
    );
    // Its PUSH_DATA is refused too: an allowed-source list speaks for the whole EUI.
    send(attacker, confirmedUp(2));
    await waitFor('the PUSH_DATA refused', () => ctx.errorCount('gateway_source_refused') === 2);
    expect(attacker.got).toEqual([]);
  });

  it('a route change from an allowed address is counted and logged', async () => {
    const before = driver.status().gateways[0]!.routeChanges;
    const moved = await open('127.0.0.1');
    send(moved, pullData(0x0303));
    await waitFor('PULL_ACK at the new port', () => moved.got.some(isPullAck(0x0303)));
    const g = driver.status().gateways[0]!;
    expect(g.pullAddress).toEqual({ address: '127.0.0.1', port: moved.port });
    expect(g.routeChanges).toBe(before + 1);
    expect(ctx.errorCount('gateway_route_changed')).toBe(before + 1);
    expect(
      ctx.logs.some((l) => l.msg === 'lorawan: gateway downlink route changed' && l.level === 'warn'),
    ).toBe(true);
  });

  it('the config refuses an entry that is not a CIDR block or an address', () => {
    const r = lorawanConfigSchema.safeParse({ gateways: [{ eui: GW, allowedSources: ['127.0.0.1/33'] }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['gateways', 0, 'allowedSources', 0]);
    expect(
      lorawanConfigSchema.safeParse({ gateways: [{ eui: GW, allowedSources: ['fd00::/8', '10.1.2.3'] }] })
        .success,
    ).toBe(true);
  });
});
