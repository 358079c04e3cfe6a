import { type Socket, createSocket } from 'node:dgram';
import { lp } from '../../src/lorawan/lora-packet-lib.js';

/**
 * A Semtech UDP (v2) gateway on a real socket carrying one ABP device's confirmed uplinks, for
 * the conformance kit's `sendUplink`: datagrams are written from PROTOCOL.TXT here, frames with
 * lora-packet. `send` resolves true when a PULL_RESP carrying a downlink with the ACK bit comes
 * back within the receive windows, false when none does.
 */
export interface AbpDevice {
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}

/** RX2 opens 2 s after the uplink; an answer not sent by then will not come. */
const ACK_WAIT_MS = 3000;

export function createConfirmedUplinkGateway(gatewayEui: string, device: AbpDevice) {
  let socket: Socket | undefined;
  let onMessage: ((m: Buffer) => void) | undefined;
  const eui = Buffer.from(gatewayEui, 'hex');
  const open = async () => {
    if (socket) return socket;
    const s = createSocket('udp4');
    s.on('message', (m) => onMessage?.(m));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    socket = s;
    return s;
  };
  /** Sends `datagram` and resolves with the first answer `pick` accepts, or undefined after `ms`. */
  const exchange = async (port: number, datagram: Buffer, pick: (m: Buffer) => boolean, ms: number) => {
    const s = await open();
    return new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), ms);
      const done = (m: Buffer | undefined) => {
        clearTimeout(timer);
        onMessage = undefined;
        resolve(m);
      };
      onMessage = (m) => {
        if (pick(m)) done(m);
      };
      s.send(datagram, port, '127.0.0.1');
    });
  };

  return {
    async send(port: number, fCnt: number): Promise<boolean> {
      // PULL_DATA first: it opens the downlink route (a restarted server has forgotten it).
      const pullAck = await exchange(
        port,
        Buffer.concat([Buffer.from([2, 0x00, fCnt & 0xff, 0x02]), eui]),
        (m) => m[3] === 0x04,
        ACK_WAIT_MS,
      );
      if (!pullAck) throw new Error('no PULL_ACK from the driver');
      const phy = lp
        .fromFields(
          {
            MType: 'Confirmed Data Up',
            DevAddr: Buffer.from(device.devAddr, 'hex'),
            FCnt: fCnt,
            FPort: 1,
            payload: Buffer.from('01670110', 'hex'), // Cayenne: temperature 27.2 °C on channel 1
          },
          Buffer.from(device.appSKey, 'hex'),
          Buffer.from(device.nwkSKey, 'hex'),
        )
        .getPHYPayload() as Buffer;
      const rxpk = {
        tmst: 5_000_000 + fCnt,
        freq: 470.3,
        stat: 1,
        modu: 'LORA',
        datr: 'SF7BW125',
        codr: '4/5',
        rssi: -70,
        lsnr: 8,
        size: phy.length,
        data: phy.toString('base64'),
      };
      const resp = await exchange(
        port,
        Buffer.concat([
          Buffer.from([2, 0x01, fCnt & 0xff, 0x00]),
          eui,
          Buffer.from(JSON.stringify({ rxpk: [rxpk] })),
        ]),
        (m) => m[3] === 0x03,
        ACK_WAIT_MS,
      );
      if (!resp) return false;
      const { txpk } = JSON.parse(resp.subarray(4).toString('utf8'));
      return lp.fromWire(Buffer.from(txpk.data, 'base64')).getFCtrlACK() === true;
    },
    close: () => socket?.close(),
  };
}
