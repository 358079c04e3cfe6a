import { randomInt } from 'node:crypto';
import { type LoraPacket, lp } from './lora-packet-lib.js';
import type { DownlinkListener, RadioMedium } from './radio-medium.js';

/**
 * A LoRaWAN 1.0.x class A end device that builds real frames with lora-packet: encrypted
 * FRMPayload, MIC over the 32-bit FCnt, OTAA join with DevNonce, join-accept decryption and
 * session key derivation. It listens only in its receive windows: a downlink whose gateway
 * timestamp is not exactly RX1/RX2 after its uplink (as heard by that gateway) is ignored.
 */
export type SimActivation =
  | { activation: 'abp'; devAddr: string; nwkSKey: string; appSKey: string }
  | { activation: 'otaa'; appEui: string; appKey: string };

export type EndDeviceConfig = SimActivation & {
  id: string;
  devEui: string;
  /** Uplink frequency plan for channel choice. */
  region?: 'CN470' | 'EU868';
  datr?: string;
  /** Sets FCtrl.ADR: the network server may change this device's datarate and power. */
  adr?: boolean;
  /** DevStatusAns battery byte: 0 external power, 1..254 level, 255 unknown (default 200). */
  battery?: number;
  /** DevStatusAns margin, dB, -32..31 (default 7). */
  margin?: number;
};

/** A MAC command the device took from a downlink (its own decoding, independent of the driver's). */
export type SimMacCommand =
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

export interface ReceivedDownlink {
  window: 'rx1' | 'rx2';
  gatewayEui: string;
  freqMHz: number;
  datr: string;
  fCnt: number;
  ack: boolean;
  fPort: number | null;
  payload: Buffer;
  confirmed: boolean;
  /** FOpts bytes of the frame. */
  fOpts: Buffer;
  /** MAC commands from FOpts or an FPort 0 FRMPayload. */
  mac: SimMacCommand[];
}

export interface UplinkOptions {
  fPort: number;
  bytes: Uint8Array;
  confirmed?: boolean;
}

export interface EndDeviceSim {
  readonly id: string;
  readonly devEui: string;
  devAddr(): string | undefined;
  /** Next uplink FCnt. */
  fCntUp(): number;
  setFCntUp(n: number): void;
  joined(): boolean;
  /** Sends a join-request; resolves once the join-accept was received and checked. */
  join(timeoutMs?: number): Promise<void>;
  /** Sends an uplink; returns the PHYPayload (to replay it later) and which gateways heard it. */
  uplink(opts: UplinkOptions): { phy: Buffer; heardBy: string[] };
  /** Builds the next uplink frame (advancing FCnt) without sending it, e.g. to tamper with it. */
  buildUplink(opts: UplinkOptions): Buffer;
  /** Puts any bytes on the air as this device (replays, corrupted frames). */
  transmitRaw(phy: Buffer): string[];
  readonly downlinks: ReceivedDownlink[];
  /** Asks for a LinkCheckReq in the next uplink. */
  requestLinkCheck(): void;
  /** Sends the MAC commands waiting (answers, LinkCheckReq) alone, as an FPort 0 FRMPayload. */
  uplinkMac(): { phy: Buffer; heardBy: string[] };
  /** Current uplink datarate (changed by LinkADRReq). */
  datr(): string;
  txPowerIndex(): number;
  /** Downlinks seen outside a receive window or failing MIC, by reason. */
  readonly ignored: Record<string, number>;
  stop(): void;
}

const US = 1_000_000;
/** Datarate index → LoRa datarate, DR0..DR5 at 125 kHz (EU868 and CN470 alike). */
const DATA_RATES = ['SF12BW125', 'SF11BW125', 'SF10BW125', 'SF9BW125', 'SF8BW125', 'SF7BW125'];
const WINDOWS = { data: [1 * US, 2 * US], join: [5 * US, 6 * US] } as const;

function pickFrequency(region: 'CN470' | 'EU868'): number {
  if (region === 'EU868') return [868.1, 868.3, 868.5][randomInt(3)]!;
  return Math.round((470.3 + 0.2 * randomInt(96)) * 10) / 10;
}

export function createEndDevice(cfg: EndDeviceConfig, radio: RadioMedium): EndDeviceSim {
  const region = cfg.region ?? 'CN470';
  let datr = cfg.datr ?? 'SF7BW125';
  let txPower = 0;
  /** MAC commands (CID + payload) to send in the next uplink. */
  let macOut: Buffer[] = [];
  /** A confirmed downlink arrived: the next uplink carries the ACK bit (§4.3.1.2). */
  let ackNext = false;
  let session: { devAddr: Buffer; nwkSKey: Buffer; appSKey: Buffer } | undefined =
    cfg.activation === 'abp'
      ? {
          devAddr: Buffer.from(cfg.devAddr, 'hex'),
          nwkSKey: Buffer.from(cfg.nwkSKey, 'hex'),
          appSKey: Buffer.from(cfg.appSKey, 'hex'),
        }
      : undefined;
  let fCnt = 0;
  let devNonce = randomInt(0x10000);
  /** Gateway → tmst of our last transmission, and what kind of answer we wait for. */
  let lastUp: { heard: Map<string, number>; kind: 'data' | 'join' } | undefined;
  let pendingJoin: { devNonce: Buffer; resolve: () => void } | undefined;
  const downlinks: ReceivedDownlink[] = [];
  const ignored: Record<string, number> = {};
  const ignore = (why: string) => {
    ignored[why] = (ignored[why] ?? 0) + 1;
  };

  const transmit = (phy: Buffer, kind: 'data' | 'join') => {
    const heard = radio.transmit(phy, { freqMHz: pickFrequency(region), datr });
    lastUp = { heard, kind };
    return [...heard.keys()];
  };

  const onJoinAccept = (phy: Buffer) => {
    if (cfg.activation !== 'otaa' || pendingJoin === undefined) return ignore('unexpected_join_accept');
    const appKey = Buffer.from(cfg.appKey, 'hex');
    const plain = lp.fromWire(lp.decryptJoinAccept(lp.fromWire(phy), appKey));
    if (!lp.verifyMIC(plain, undefined, appKey)) return ignore('join_accept_mic');
    const keys = lp.generateSessionKeys(appKey, plain.NetID!, plain.AppNonce!, pendingJoin.devNonce);
    session = { devAddr: plain.DevAddr!, nwkSKey: keys.NwkSKey, appSKey: keys.AppSKey };
    fCnt = 0;
    const done = pendingJoin.resolve;
    pendingJoin = undefined;
    done();
  };

  const onData = (
    pkt: LoraPacket,
    window: 'rx1' | 'rx2',
    dl: Parameters<DownlinkListener['onDownlink']>[0],
  ) => {
    if (session === undefined || !pkt.DevAddr?.equals(session.devAddr)) return; // someone else's
    // Downlink counters of these short tests stay below 2^16, so the upper bytes are 0.
    if (!lp.verifyMIC(pkt, session.nwkSKey)) return ignore('downlink_mic');
    const fPort = pkt.getFPort();
    const payload = fPort === null ? Buffer.alloc(0) : lp.decrypt(pkt, session.appSKey, session.nwkSKey);
    const fOpts = Buffer.from(pkt.FOpts ?? Buffer.alloc(0));
    const mac = [...takeMac(fOpts), ...(fPort === 0 ? takeMac(payload) : [])];
    if (pkt.getMType() === 'Confirmed Data Down') ackNext = true;
    downlinks.push({
      fOpts,
      mac,
      window,
      gatewayEui: dl.gatewayEui,
      freqMHz: dl.freqMHz,
      datr: dl.datr,
      fCnt: pkt.getFCnt() ?? -1,
      ack: pkt.getFCtrlACK() === true,
      fPort,
      payload,
      confirmed: pkt.getMType() === 'Confirmed Data Down',
    });
  };

  /** Decodes the downlink MAC commands this device knows, and queues its answers. */
  const takeMac = (buf: Buffer): SimMacCommand[] => {
    const out: SimMacCommand[] = [];
    let i = 0;
    while (i < buf.length) {
      const cid = buf[i]!;
      if (cid === 0x02 && i + 3 <= buf.length) {
        out.push({ cid: 'LinkCheckAns', margin: buf[i + 1]!, gwCnt: buf[i + 2]! });
        i += 3;
      } else if (cid === 0x03 && i + 5 <= buf.length) {
        const req = {
          cid: 'LinkADRReq' as const,
          dataRate: buf[i + 1]! >> 4,
          txPower: buf[i + 1]! & 0x0f,
          chMask: buf.readUInt16LE(i + 2),
          chMaskCntl: (buf[i + 4]! >> 4) & 0x07,
          nbTrans: buf[i + 4]! & 0x0f,
        };
        out.push(req);
        const dr = DATA_RATES[req.dataRate];
        // Status bits: power, datarate, channel mask accepted (0x07) when the device can do it.
        const ok = dr !== undefined && req.txPower <= 7;
        if (ok) {
          datr = dr;
          txPower = req.txPower;
        }
        macOut.push(Buffer.from([0x03, ok ? 0x07 : 0x01]));
        i += 5;
      } else if (cid === 0x06) {
        out.push({ cid: 'DevStatusReq' });
        macOut.push(Buffer.from([0x06, cfg.battery ?? 200, (cfg.margin ?? 7) & 0x3f]));
        i += 1;
      } else {
        ignore('mac_unknown');
        break;
      }
    }
    return out;
  };

  const listener: DownlinkListener = {
    onDownlink(dl) {
      if (lastUp === undefined) return;
      const upTmst = lastUp.heard.get(dl.gatewayEui);
      if (upTmst === undefined) return; // that gateway never heard us: not an answer to us
      const delta = (dl.tmst - upTmst) >>> 0;
      const [rx1, rx2] = WINDOWS[lastUp.kind];
      const window = delta === rx1 ? 'rx1' : delta === rx2 ? 'rx2' : undefined;
      let pkt: LoraPacket;
      try {
        pkt = lp.fromWire(dl.phy);
      } catch {
        return ignore('unparseable');
      }
      const isJoinAccept = pkt.getMType() === 'Join Accept';
      if (isJoinAccept !== (lastUp.kind === 'join')) return;
      if (window === undefined) return ignore('outside_rx_window');
      if (isJoinAccept) onJoinAccept(dl.phy);
      else onData(pkt, window, dl);
    },
  };
  radio.addDevice(listener);

  const buildUplink = ({ fPort, bytes, confirmed }: UplinkOptions): Buffer => {
    if (session === undefined) throw new Error(`${cfg.id} has not joined`);
    // lora-packet appends the counter's upper half little-endian after the low half (B0/Ai blocks).
    const msb = Buffer.alloc(2);
    msb.writeUInt16LE(Math.floor(fCnt / 0x10000) & 0xffff);
    // Waiting MAC commands ride in FOpts (up to 15 bytes; on FPort 0 they are the payload itself).
    const fOpts = fPort === 0 ? Buffer.alloc(0) : Buffer.concat(macOut);
    if (fOpts.length > 15)
      throw new Error(`${cfg.id}: ${fOpts.length} bytes of MAC commands do not fit in FOpts`);
    const pkt = lp.fromFields(
      {
        MType: confirmed ? 'Confirmed Data Up' : 'Unconfirmed Data Up',
        DevAddr: session.devAddr,
        FCtrl: { ADR: cfg.adr === true, ACK: ackNext, ADRACKReq: false, FPending: false },
        FCnt: fCnt & 0xffff,
        ...(fOpts.length > 0 ? { FOpts: fOpts } : {}),
        FPort: fPort,
        payload: Buffer.from(bytes),
      },
      session.appSKey,
      session.nwkSKey,
      undefined,
      msb,
    );
    fCnt++;
    ackNext = false;
    macOut = [];
    return pkt.getPHYPayload() as Buffer;
  };

  return {
    id: cfg.id,
    devEui: cfg.devEui,
    devAddr: () => session?.devAddr.toString('hex'),
    fCntUp: () => fCnt,
    setFCntUp: (n) => {
      fCnt = n;
    },
    joined: () => session !== undefined,
    join(timeoutMs = 20_000) {
      if (cfg.activation !== 'otaa') return Promise.reject(new Error(`${cfg.id} is ABP: nothing to join`));
      devNonce = (devNonce + 1) & 0xffff;
      const nonce = Buffer.alloc(2);
      nonce.writeUInt16BE(devNonce);
      const pkt = lp.fromFields(
        {
          MType: 'Join Request',
          AppEUI: Buffer.from(cfg.appEui, 'hex'),
          DevEUI: Buffer.from(cfg.devEui, 'hex'),
          DevNonce: nonce,
        },
        undefined,
        undefined,
        Buffer.from(cfg.appKey, 'hex'),
      );
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingJoin = undefined;
          reject(new Error(`${cfg.id}: no join-accept within ${timeoutMs} ms`));
        }, timeoutMs);
        pendingJoin = {
          devNonce: nonce,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        transmit(pkt.getPHYPayload() as Buffer, 'join');
      });
    },
    uplink(opts) {
      const phy = buildUplink(opts);
      return { phy, heardBy: transmit(phy, 'data') };
    },
    buildUplink: (opts) => buildUplink(opts),
    requestLinkCheck: () => {
      macOut.push(Buffer.from([0x02]));
    },
    uplinkMac() {
      const phy = buildUplink({ fPort: 0, bytes: Buffer.concat(macOut) });
      return { phy, heardBy: transmit(phy, 'data') };
    },
    datr: () => datr,
    txPowerIndex: () => txPower,
    transmitRaw: (phy) => transmit(phy, 'data'),
    downlinks,
    ignored,
    stop: () => radio.removeDevice(listener),
  };
}
