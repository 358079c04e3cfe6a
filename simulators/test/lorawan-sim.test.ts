import { type Socket, createSocket } from 'node:dgram';
import { waitFor } from '@village/test-kit';
import lpModule from 'lora-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createEndDevice, createRadioMedium, startGatewaySim } from '../src/lorawan/index.js';

// The network-server side here is a bare UDP socket in the test, reading and writing the bytes of
// PROTOCOL.TXT v2 directly, so the gateway simulator is checked against the protocol text rather
// than against the driver (the driver-with-simulator test is device-drivers/test/lorawan-driver.test.ts).
const lp = lpModule as unknown as typeof lpModule.default;
const EUI = '0102030405060708';
const ABP = {
  id: 'abp-1',
  devEui: '70b3d57ed0000001',
  activation: 'abp' as const,
  devAddr: '26011bda',
  nwkSKey: '2b7e151628aed2a6abf7158809cf4f3c',
  appSKey: '3c4fcf098815f7aba6d2ae2816157e2b',
};

interface Datagram {
  msg: Buffer;
  port: number;
}

async function fakeServer(): Promise<{ socket: Socket; port: number; got: Datagram[] }> {
  const socket = createSocket('udp4');
  const got: Datagram[] = [];
  socket.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port }));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, got };
}

const ofType = (got: Datagram[], id: number) => got.filter((d) => d.msg[0] === 2 && d.msg[3] === id);
const json = (d: Datagram, from: number) => JSON.parse(d.msg.subarray(from).toString('utf8'));

describe('simulated Semtech UDP gateway', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('sends PULL_DATA and a stat PUSH_DATA, forwards a device frame as rxpk, and answers PULL_RESP with TX_ACK', async () => {
    const server = await fakeServer();
    cleanup.push(() => {
      server.socket.close();
    });
    const radio = createRadioMedium();
    const gw = await startGatewaySim({ eui: EUI, serverHost: '127.0.0.1', serverPort: server.port, radio });
    cleanup.push(() => gw.stop());
    const device = createEndDevice(ABP, radio);

    await waitFor(
      'PULL_DATA + stat',
      () => ofType(server.got, 0x02).length >= 1 && ofType(server.got, 0x00).length >= 1,
    );
    const pull = ofType(server.got, 0x02)[0]!;
    expect(pull.msg.length).toBe(12);
    expect(pull.msg.subarray(4, 12).toString('hex')).toBe(EUI);
    expect(json(ofType(server.got, 0x00)[0]!, 12).stat).toMatchObject({ rxnb: 0, ackr: 100 });
    // PULL_ACK echoes the token.
    server.socket.send(Buffer.from([2, pull.msg[1]!, pull.msg[2]!, 0x04]), pull.port, '127.0.0.1');
    await waitFor('PULL_ACK counted', () => gw.stats.pullAcks === 1);

    const { phy } = device.uplink({ fPort: 2, bytes: Uint8Array.from([1, 2, 3]), confirmed: true });
    await waitFor('rxpk PUSH_DATA', () => ofType(server.got, 0x00).some((d) => json(d, 12).rxpk));
    const push = ofType(server.got, 0x00).find((d) => json(d, 12).rxpk)!;
    const rxpk = json(push, 12).rxpk[0];
    expect(rxpk).toMatchObject({ stat: 1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', size: phy.length });
    expect(rxpk.freq).toBeGreaterThanOrEqual(470.3);
    expect(rxpk.freq).toBeLessThanOrEqual(489.3);
    const onAir = lp.fromWire(Buffer.from(rxpk.data, 'base64'));
    expect(onAir.getMType()).toBe('Confirmed Data Up');
    expect(lp.verifyMIC(onAir, Buffer.from(ABP.nwkSKey, 'hex'))).toBe(true);
    expect(lp.decrypt(onAir, Buffer.from(ABP.appSKey, 'hex')).toString('hex')).toBe('010203');

    // A downlink for RX1: tmst = uplink tmst + 1 s. The device must get it, in RX1, decrypted.
    const down = lp.fromFields(
      {
        MType: 'Unconfirmed Data Down',
        DevAddr: Buffer.from(ABP.devAddr, 'hex'),
        FCtrl: { ACK: true },
        FCnt: 0,
        FPort: 3,
        payload: Buffer.from('ok'),
      },
      Buffer.from(ABP.appSKey, 'hex'),
      Buffer.from(ABP.nwkSKey, 'hex'),
    );
    const phyDown = down.getPHYPayload() as Buffer;
    const txpk = {
      imme: false,
      tmst: (rxpk.tmst + 1_000_000) >>> 0,
      freq: 500.3,
      rfch: 0,
      powe: 17,
      modu: 'LORA',
      datr: 'SF7BW125',
      codr: '4/5',
      ipol: true,
      size: phyDown.length,
      data: phyDown.toString('base64'),
    };
    server.socket.send(
      Buffer.concat([Buffer.from([2, 0xab, 0xcd, 0x03]), Buffer.from(JSON.stringify({ txpk }))]),
      pull.port,
      '127.0.0.1',
    );
    await waitFor('TX_ACK', () => ofType(server.got, 0x05).length === 1);
    const txAck = ofType(server.got, 0x05)[0]!;
    expect([txAck.msg[1], txAck.msg[2]]).toEqual([0xab, 0xcd]);
    expect(txAck.msg.subarray(4, 12).toString('hex')).toBe(EUI);
    expect(json(txAck, 12)).toEqual({ txpk_ack: { error: 'NONE' } });
    await waitFor('downlink at the device after 1 s', () => device.downlinks.length === 1);
    expect(device.downlinks[0]).toMatchObject({ window: 'rx1', ack: true, fPort: 3, freqMHz: 500.3 });
    expect(device.downlinks[0]!.payload.toString()).toBe('ok');

    // A txpk whose time has passed is refused with TOO_LATE, and nothing is transmitted.
    const late = { ...txpk, tmst: (gw.tmst() - 1_000_000) >>> 0 };
    server.socket.send(
      Buffer.concat([Buffer.from([2, 0, 7, 0x03]), Buffer.from(JSON.stringify({ txpk: late }))]),
      pull.port,
      '127.0.0.1',
    );
    await waitFor('second TX_ACK', () => ofType(server.got, 0x05).length === 2);
    expect(json(ofType(server.got, 0x05)[1]!, 12)).toEqual({ txpk_ack: { error: 'TOO_LATE' } });
    expect(gw.stats.downlinksSent).toBe(1);
  }, 30_000);

  it('drops uplinks at the configured loss rate, per gateway', async () => {
    const server = await fakeServer();
    cleanup.push(() => {
      server.socket.close();
    });
    // Deterministic "random": gateway A always hears (0.9 ≥ 0.5), gateway B never (0.1 < 0.5).
    const draws = [0.9, 0.1];
    let i = 0;
    const radio = createRadioMedium({ lossRate: 0.5, random: () => draws[i++ % 2]! });
    const a = await startGatewaySim({
      eui: 'aaaaaaaaaaaaaaaa',
      serverHost: '127.0.0.1',
      serverPort: server.port,
      radio,
    });
    const b = await startGatewaySim({
      eui: 'bbbbbbbbbbbbbbbb',
      serverHost: '127.0.0.1',
      serverPort: server.port,
      radio,
    });
    cleanup.push(
      () => a.stop(),
      () => b.stop(),
    );
    const device = createEndDevice(ABP, radio);
    const heard = [0, 1, 2].map(() => device.uplink({ fPort: 1, bytes: Uint8Array.from([0]) }).heardBy);
    expect(heard).toEqual([['aaaaaaaaaaaaaaaa'], ['aaaaaaaaaaaaaaaa'], ['aaaaaaaaaaaaaaaa']]);
    expect(a.stats.pushData).toBe(3);
    expect(b.stats.pushData).toBe(0);
    radio.setLossRate(1);
    expect(device.uplink({ fPort: 1, bytes: Uint8Array.from([0]) }).heardBy).toEqual([]);
  });
});
