import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { RadioMedium, Uplinkable } from './radio-medium.js';

/**
 * A LoRa gateway running the Semtech UDP packet forwarder (PROTOCOL.TXT v2), independent of the
 * driver's own implementation so each checks the other on the wire:
 * PUSH_DATA (rxpk + stat) → PUSH_ACK, PULL_DATA keep-alive → PULL_ACK, PULL_RESP → TX_ACK, and
 * the downlink goes on the air when the concentrator counter reaches the txpk's `tmst`.
 */
export interface GatewaySimOptions {
  eui: string;
  serverHost: string;
  serverPort: number;
  radio: RadioMedium;
  /** PULL_DATA period, ms (the reference forwarder's keepalive_interval is 10 s). */
  keepaliveMs?: number;
  /** Transmit downlinks as soon as they arrive instead of at `tmst` (faster tests; not faithful). */
  ignoreTxTiming?: boolean;
}

export interface GatewaySim {
  readonly eui: string;
  readonly stats: {
    pushData: number;
    pushAcks: number;
    pullAcks: number;
    pullResps: number;
    txAcks: number;
    downlinksSent: number;
    tooLate: number;
  };
  /** Current concentrator counter, µs. */
  tmst(): number;
  /** Sends a PULL_DATA now (also done every keepaliveMs). */
  pull(): void;
  /** Sends an arbitrary datagram from this gateway's socket (for bad-input tests). */
  sendRaw(buf: Buffer): void;
  stop(): Promise<void>;
}

const VERSION = 2;

export async function startGatewaySim(opts: GatewaySimOptions): Promise<GatewaySim> {
  const euiBytes = Buffer.from(opts.eui, 'hex');
  if (euiBytes.length !== 8) throw new Error(`gateway eui ${opts.eui} must be 8 bytes of hex`);
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  // The concentrator counter starts at an arbitrary value, as on real hardware, and wraps at 2^32.
  const offset = Math.floor(Math.random() * 0xffffffff);
  const tmst = () => (Math.floor(performance.now() * 1000) + offset) >>> 0;
  const stats = {
    pushData: 0,
    pushAcks: 0,
    pullAcks: 0,
    pullResps: 0,
    txAcks: 0,
    downlinksSent: 0,
    tooLate: 0,
  };
  const timers = new Set<NodeJS.Timeout>();
  let token = Math.floor(Math.random() * 0x10000);
  const nextToken = () => {
    token = (token + 1) & 0xffff;
    return token;
  };
  const header = (id: number, t = nextToken()) => Buffer.from([VERSION, t >> 8, t & 0xff, id]);
  const send = (buf: Buffer) => socket.send(buf, opts.serverPort, opts.serverHost);
  let rxnb = 0;

  const gateway: Uplinkable = {
    eui: opts.eui,
    hear(phy, radio) {
      const t = tmst();
      rxnb++;
      const rxpk = {
        time: new Date().toISOString(),
        tmst: t,
        chan: 0,
        rfch: 0,
        freq: radio.freqMHz,
        stat: 1,
        modu: 'LORA',
        datr: radio.datr,
        codr: '4/5',
        rssi: radio.rssi,
        lsnr: radio.snr,
        size: phy.length,
        data: phy.toString('base64'),
      };
      stats.pushData++;
      send(Buffer.concat([header(0x00), euiBytes, Buffer.from(JSON.stringify({ rxpk: [rxpk] }))]));
      return t;
    },
  };
  opts.radio.addGateway(gateway);

  const onPullResp = (tok: number, body: Buffer) => {
    stats.pullResps++;
    let txpk: { tmst?: number; imme?: boolean; freq: number; datr: string; data: string; size: number };
    try {
      txpk = JSON.parse(body.toString('utf8')).txpk;
    } catch {
      return;
    }
    const phy = Buffer.from(txpk.data, 'base64');
    const now = tmst();
    // Signed 32-bit distance to the requested time, so a counter wrap in between is fine.
    const aheadUs = txpk.imme ? 0 : ((txpk.tmst ?? now) - now) | 0;
    let error = 'NONE';
    if (aheadUs < 0) error = 'TOO_LATE';
    else if (aheadUs > 30_000_000) error = 'TOO_EARLY';
    else if (phy.length !== txpk.size) error = 'TX_FREQ';
    const ack = Buffer.concat([
      header(0x05, tok),
      euiBytes,
      Buffer.from(JSON.stringify({ txpk_ack: { error } })),
    ]);
    send(ack);
    stats.txAcks++;
    if (error !== 'NONE') {
      stats.tooLate++;
      return;
    }
    const fire = () => {
      stats.downlinksSent++;
      opts.radio.downlink({
        gatewayEui: opts.eui,
        tmst: txpk.imme ? tmst() : txpk.tmst!,
        freqMHz: txpk.freq,
        datr: txpk.datr,
        phy,
      });
    };
    if (opts.ignoreTxTiming) return fire();
    const timer = setTimeout(() => {
      timers.delete(timer);
      fire();
    }, aheadUs / 1000);
    timers.add(timer);
  };

  socket.on('message', (msg) => {
    if (msg.length < 4 || msg[0] !== VERSION) return;
    const tok = (msg[1]! << 8) | msg[2]!;
    if (msg[3] === 0x01) stats.pushAcks++;
    else if (msg[3] === 0x04) stats.pullAcks++;
    else if (msg[3] === 0x03) onPullResp(tok, msg.subarray(4));
  });

  const pull = () => send(Buffer.concat([header(0x02), euiBytes]));
  const sendStat = () => {
    const stat = {
      time: new Date().toISOString(),
      rxnb,
      rxok: rxnb,
      rxfw: rxnb,
      ackr: 100,
      dwnb: 0,
      txnb: stats.downlinksSent,
    };
    send(Buffer.concat([header(0x00), euiBytes, Buffer.from(JSON.stringify({ stat }))]));
  };
  pull();
  sendStat();
  const keepalive = setInterval(pull, opts.keepaliveMs ?? 10_000);

  return {
    eui: opts.eui,
    stats,
    tmst,
    pull,
    sendRaw: (buf) => send(buf),
    async stop() {
      clearInterval(keepalive);
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
