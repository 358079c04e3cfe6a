import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Reception } from './dedup.js';
import { LorawanError } from './errors.js';
import type { GatewayState } from './gateway-registry.js';
import { type LorawanRuntime, fail, handleError } from './runtime.js';
import {
  type Txpk,
  buildPullAck,
  buildPullResp,
  buildPushAck,
  parseDatagram,
  parsePushData,
  parseTxAck,
  rxpkSchema,
} from './semtech-udp.js';

/**
 * The gateway link: the Semtech UDP socket, gateway admission, PUSH_DATA → receptions handed to
 * the de-duplicator, PULL_DATA → the gateway's downlink route, TX_ACK → the gateway's verdict on
 * a downlink, and PULL_RESP out. It knows nothing about LoRaWAN frames beyond their bytes.
 */

/** Frames being de-duplicated at once; beyond this, new frames are refused (flood protection). */
export const MAX_PENDING_FRAMES = 10_000;
/** PULL_RESP tokens remembered while waiting for their TX_ACK. */
const MAX_PENDING_TX = 1024;

export function sendDatagram(rt: LorawanRuntime, buf: Buffer, address: string, port: number): void {
  rt.socket?.send(buf, port, address, (err) => {
    if (err && !rt.stopped) rt.ctx.log.warn({ err: err.message, address, port }, 'lorawan: UDP send failed');
  });
}

/**
 * Sends one PULL_RESP to a gateway's open downlink route. A version-1 forwarder sends no TX_ACK,
 * so only a version-2 one's token is remembered.
 */
export function sendPullResp(rt: LorawanRuntime, gatewayEui: string, deviceId: string, txpk: Txpk): void {
  const gateway = rt.registry.get(gatewayEui)!;
  const route = gateway.pullAddress!;
  const version = gateway.pullVersion ?? 2;
  const token = (Math.random() * 0x10000) | 0;
  if (version === 2) {
    if (rt.pendingTx.size >= MAX_PENDING_TX) rt.pendingTx.delete(rt.pendingTx.keys().next().value!);
    rt.pendingTx.set(token, { gatewayEui, deviceId });
  }
  sendDatagram(rt, buildPullResp(token, txpk, version), route.address, route.port);
}

function handlePushData(rt: LorawanRuntime, gateway: GatewayState, body: Uint8Array): void {
  const { rxpk, stat } = parsePushData(body);
  gateway.pushDataReceived++;
  if (stat !== undefined) gateway.lastStat = stat;
  const heardAt = performance.now();
  for (const raw of rxpk) {
    const parsed = rxpkSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      fail(
        rt,
        'rxpk_invalid',
        `lorawan: rxpk from ${gateway.eui}: ${issue?.path.join('.')}: ${issue?.message}`,
      );
      continue;
    }
    const rx = parsed.data;
    gateway.rxpkReceived++;
    if (rx.stat !== 1) {
      fail(rt, 'rxpk_crc_bad', `lorawan: rxpk from ${gateway.eui} with CRC status ${rx.stat} dropped`);
      continue;
    }
    const phy = Buffer.from(rx.data, 'base64');
    if (phy.length !== rx.size || phy.length < 12) {
      fail(
        rt,
        'rxpk_invalid',
        `lorawan: rxpk from ${gateway.eui}: ${phy.length} bytes of data, size says ${rx.size}`,
      );
      continue;
    }
    const reception: Reception = {
      gatewayEui: gateway.eui,
      tmst: rx.tmst,
      freqMHz: rx.freq,
      datr: rx.datr,
      rssi: rx.rssi,
      snr: rx.lsnr,
      heardAt,
    };
    if (rt.dedup!.add(phy, reception) === 'overflow') {
      fail(rt, 'dedup_overflow', `lorawan: more than ${MAX_PENDING_FRAMES} frames pending; frame dropped`);
    }
  }
}

export function handleDatagram(rt: LorawanRuntime, msg: Buffer, rinfo: RemoteInfo): void {
  if (rt.stopped) return;
  const packet = parseDatagram(msg);
  const now = rt.ctx.now();
  const admit = (eui: string) => {
    const a = rt.registry.admit(eui, rinfo.address, now);
    if (a.ok) return a.gateway;
    throw new LorawanError(
      a.reason,
      a.reason === 'gateway_unknown'
        ? `gateway ${eui} is not configured`
        : `gateway ${eui}: datagram from ${rinfo.address}, outside its allowedSources`,
    );
  };
  switch (packet.type) {
    case 'PUSH_DATA': {
      const g = admit(packet.gatewayEui);
      // §3.3: acknowledge on receipt, so the gateway's ackr statistic reflects the link.
      sendDatagram(rt, buildPushAck(packet.token, packet.version), rinfo.address, rinfo.port);
      handlePushData(rt, g, packet.body);
      return;
    }
    case 'PULL_DATA': {
      const g = admit(packet.gatewayEui);
      const old = g.pullAddress;
      if (old === undefined) {
        rt.ctx.log.info(
          { gateway: g.eui, route: `${rinfo.address}:${rinfo.port}` },
          'lorawan: gateway downlink route open',
        );
      } else if (old.address !== rinfo.address || old.port !== rinfo.port) {
        // Where downlinks go is a security decision (Semtech UDP is unauthenticated): count and log it.
        g.routeChanges++;
        rt.ctx.countError('gateway_route_changed');
        rt.ctx.log.warn(
          { gateway: g.eui, from: `${old.address}:${old.port}`, to: `${rinfo.address}:${rinfo.port}` },
          'lorawan: gateway downlink route changed',
        );
      }
      g.pullAddress = { address: rinfo.address, port: rinfo.port };
      g.pullVersion = packet.version;
      sendDatagram(rt, buildPullAck(packet.token, packet.version), rinfo.address, rinfo.port);
      return;
    }
    case 'TX_ACK': {
      const g = admit(packet.gatewayEui);
      const pending = rt.pendingTx.get(packet.token);
      rt.pendingTx.delete(packet.token);
      const { error } = parseTxAck(packet.body);
      g.txAcks++;
      if (error !== 'NONE') {
        g.txErrors++;
        throw new LorawanError(
          'tx_ack_error',
          `gateway ${g.eui} refused downlink for ${pending?.deviceId}: ${error}`,
        );
      }
      return;
    }
    default:
      throw new LorawanError('udp_unknown_type', `${packet.type} is sent by a network server, not to one`);
  }
}

/** Binds the Semtech UDP socket; every datagram goes to `handleDatagram`, every throw to the error count. */
export async function openGatewayLink(rt: LorawanRuntime): Promise<Socket> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  rt.socket = sock;
  sock.on('message', (msg, rinfo) => {
    try {
      handleDatagram(rt, msg, rinfo);
    } catch (err) {
      handleError(rt, err, { from: `${rinfo.address}:${rinfo.port}`, bytes: msg.length });
    }
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(rt.config.port, rt.config.bind, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', (err) => {
    if (!rt.stopped) rt.ctx.fail(err);
  });
  rt.boundPort = sock.address().port;
  return sock;
}
