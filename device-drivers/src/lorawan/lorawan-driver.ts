import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Command, CommandResult, InventoryEntry, Reading } from '@village/protocol';
import { checkDeviceCodecs, resolveDeviceCodec } from '../codec-registry.js';
import type { Driver, DriverContext, DriverKind } from '../driver.js';
import { type LorawanConfig, type LorawanConfigInput, lorawanConfigSchema } from './config.js';
import { type DataUplink, verifyDataUplink } from './data-uplink.js';
import { type Deduplicator, type Reception, createDeduplicator } from './dedup.js';
import { type QueuedDownlink, buildDataDownlink } from './downlink-frame.js';
import { LorawanError, type LorawanErrorCode } from './errors.js';
import { type GatewayRegistry, type GatewayState, createGatewayRegistry } from './gateway-registry.js';
import { type OtaaDevice, acceptJoin } from './join-request.js';
import type { LoraPacket } from './lora-packet-lib.js';
import { decodePhyPayload } from './phy-payload.js';
import { REGIONS } from './region.js';
import { planDownlink } from './rx-window.js';
import {
  buildPullAck,
  buildPullResp,
  buildPushAck,
  parseDatagram,
  parsePushData,
  parseTxAck,
  rxpkSchema,
} from './semtech-udp.js';
import { type Session, type SessionStore, openSessionStore } from './session-store.js';

/** One uplink as handled, for observers (tests, diagnostics): every gateway's reception is kept. */
export interface UplinkRecord {
  deviceId: string;
  devEui: string;
  devAddr: string;
  fCnt: number;
  fPort: number | null;
  confirmed: boolean;
  receptions: Reception[];
  data: unknown;
}

export interface LorawanDriverHooks {
  onUplink?(uplink: UplinkRecord): void;
  onJoin?(deviceId: string, devAddr: string): void;
}

export interface LorawanStatus {
  port: number;
  gateways: GatewayState[];
  uplinks: number;
  /** Copies of a frame merged into one uplink by the dedup window. */
  duplicatesMerged: number;
  joins: number;
  downlinksSent: number;
  errors: Record<string, number>;
}

export interface LorawanDriver extends Driver {
  /** The bound UDP port (useful with `port: 0`). */
  port(): number;
  status(): LorawanStatus;
}

/** Largest FRMPayload accepted for a queued downlink, bytes: N at DR0 (RX2) in EU868 and CN470. */
export const MAX_DOWNLINK_PAYLOAD = 51;
/** Frames being de-duplicated at once; beyond this, new frames are refused (flood protection). */
const MAX_PENDING_FRAMES = 10_000;
/** PULL_RESP tokens remembered while waiting for their TX_ACK. */
const MAX_PENDING_TX = 1024;

export const lorawanDriverKind: DriverKind<typeof lorawanConfigSchema> = {
  kind: 'lorawan',
  configSchema: lorawanConfigSchema,
  create: (config, { configDir }) => createLorawanDriver(config, {}, configDir),
  check: (config, { configDir }) => checkDeviceCodecs('lorawan', config.devices, configDir),
  listens: (config) => [{ key: 'port', host: config.bind, port: config.port, protocol: 'udp' }],
};

export function createLorawanDriver(
  input: LorawanConfig | LorawanConfigInput,
  hooks: LorawanDriverHooks = {},
  /** Where a device's `codecProfile` path is relative to (the edge config's folder). */
  configDir: string = process.cwd(),
): LorawanDriver {
  const config = lorawanConfigSchema.parse(input);
  // Built-in codecs and JavaScript codec profiles alike (codec-registry.ts), loaded from their files now.
  const codecs = new Map(config.devices.map((d) => [d.id, resolveDeviceCodec('lorawan', d, configDir)]));
  const codecStates = new Map<string, Set<string>>();
  const region = REGIONS[config.region];
  const netId = Buffer.from(config.netId, 'hex');
  const devicesByEui = new Map(config.devices.map((d) => [d.devEui, d]));
  const devicesById = new Map(config.devices.map((d) => [d.id, d]));
  const otaaDevices = new Map<string, OtaaDevice>();
  for (const d of config.devices) {
    if (d.activation === 'otaa') {
      otaaDevices.set(d.devEui, {
        devEui: d.devEui,
        appEui: (d.appEui ?? d.joinEui)!,
        appKey: Buffer.from(d.appKey, 'hex'),
      });
    }
  }

  let ctx: DriverContext;
  let socket: Socket | undefined;
  let store: SessionStore | undefined;
  let dedup: Deduplicator | undefined;
  let registry: GatewayRegistry = createGatewayRegistry([], false);
  let boundPort = 0;
  let stopped = false;
  /** DevAddr → sessions using it. */
  const byDevAddr = new Map<string, Session[]>();
  const sessionsByEui = new Map<string, Session>();
  const queues = new Map<string, QueuedDownlink[]>();
  const pendingTx = new Map<number, { gatewayEui: string; deviceId: string }>();
  const lastTs = new Map<string, number>();
  const counters = { uplinks: 0, duplicatesMerged: 0, joins: 0, downlinksSent: 0 };
  const errors: Record<string, number> = {};

  const fail = (code: LorawanErrorCode | 'internal', msg: string, extra: object = {}) => {
    errors[code] = (errors[code] ?? 0) + 1;
    ctx.countError(code);
    ctx.log.warn({ reason: code, ...extra }, msg);
  };

  const handleError = (err: unknown, extra: object = {}) => {
    if (err instanceof LorawanError) fail(err.code, err.message, extra);
    else {
      errors.internal = (errors.internal ?? 0) + 1;
      ctx.countError('internal');
      ctx.log.error({ err: String((err as Error)?.stack ?? err), ...extra }, 'lorawan: unexpected error');
    }
  };

  const indexSession = (s: Session) => {
    const old = sessionsByEui.get(s.devEui);
    if (old !== undefined) {
      const list = byDevAddr.get(old.devAddr)?.filter((x) => x.devEui !== s.devEui) ?? [];
      if (list.length > 0) byDevAddr.set(old.devAddr, list);
      else byDevAddr.delete(old.devAddr);
    }
    sessionsByEui.set(s.devEui, s);
    byDevAddr.set(s.devAddr, [...(byDevAddr.get(s.devAddr) ?? []), s]);
  };

  /** Installs ABP sessions from config; stored counters are kept while address and keys are unchanged. */
  const loadSessions = (db: SessionStore) => {
    for (const s of db.all()) if (devicesByEui.has(s.devEui)) indexSession(s);
    for (const d of config.devices) {
      if (d.activation !== 'abp') continue;
      const stored = sessionsByEui.get(d.devEui);
      const same =
        stored?.devAddr === d.devAddr &&
        stored.nwkSKey.toString('hex') === d.nwkSKey &&
        stored.appSKey.toString('hex') === d.appSKey;
      if (same) continue;
      const s: Session = {
        devEui: d.devEui,
        devAddr: d.devAddr,
        nwkSKey: Buffer.from(d.nwkSKey, 'hex'),
        appSKey: Buffer.from(d.appSKey, 'hex'),
        fCntUp: -1,
        fCntDown: 0,
      };
      db.put(s);
      indexSession(s);
    }
  };

  const send = (buf: Buffer, address: string, port: number) => {
    socket?.send(buf, port, address, (err) => {
      if (err && !stopped) ctx.log.warn({ err: err.message, address, port }, 'lorawan: UDP send failed');
    });
  };

  /** Sends a PULL_RESP through the best gateway (highest SNR) that has a PULL_DATA route open. */
  const transmit = (
    receptions: Reception[],
    kind: 'data' | 'join',
    deviceId: string,
    build: () => Buffer,
  ) => {
    const best = [...receptions]
      .sort((a, b) => b.snr - a.snr)
      .find((r) => registry.get(r.gatewayEui)?.pullAddress !== undefined);
    if (best === undefined) {
      fail('downlink_no_gateway', `lorawan: no gateway with an open PULL_DATA route heard ${deviceId}`, {
        deviceId,
      });
      return false;
    }
    const elapsed = performance.now() - Math.min(...receptions.map((r) => r.heardAt));
    const plan = planDownlink(region, best, kind, elapsed, config.downlinkLeadMs);
    if (plan === undefined) {
      fail(
        'downlink_too_late',
        `lorawan: receive windows for ${deviceId} passed (${Math.round(elapsed)} ms)`,
        {
          deviceId,
        },
      );
      return false;
    }
    const phy = build();
    const token = (Math.random() * 0x10000) | 0;
    const gateway = registry.get(best.gatewayEui)!;
    const route = gateway.pullAddress!;
    const version = gateway.pullVersion ?? 2;
    // A version-1 forwarder sends no TX_ACK: nothing to wait for.
    if (version === 2) {
      if (pendingTx.size >= MAX_PENDING_TX) pendingTx.delete(pendingTx.keys().next().value!);
      pendingTx.set(token, { gatewayEui: best.gatewayEui, deviceId });
    }
    send(
      buildPullResp(token, { ...plan.txpk, size: phy.length, data: phy.toString('base64') }, version),
      route.address,
      route.port,
    );
    counters.downlinksSent++;
    ctx.log.debug(
      { deviceId, gateway: best.gatewayEui, window: plan.window, kind },
      'lorawan: downlink scheduled',
    );
    return true;
  };

  const handleJoin = (pkt: LoraPacket, receptions: Reception[]) => {
    const { session, joinAccept } = acceptJoin(pkt, otaaDevices, store!, netId, (a) => !byDevAddr.has(a));
    indexSession(session);
    counters.joins++;
    const deviceId = devicesByEui.get(session.devEui)!.id;
    queues.delete(deviceId);
    ctx.log.info({ deviceId, devAddr: session.devAddr }, 'lorawan: device joined');
    hooks.onJoin?.(deviceId, session.devAddr);
    transmit(receptions, 'join', deviceId, () => joinAccept);
  };

  const handleData = async (pkt: LoraPacket, receptions: Reception[]) => {
    const devAddr = pkt.DevAddr!.toString('hex');
    const candidates = byDevAddr.get(devAddr);
    if (candidates === undefined)
      throw new LorawanError('devaddr_unknown', `DevAddr ${devAddr} has no session`);
    const up: DataUplink = verifyDataUplink(pkt, candidates);
    // Persist the counter before anything else: from here on a replay of this frame is refused.
    const previousFCnt = up.session.fCntUp;
    up.session.fCntUp = up.fCnt;
    store!.setFCntUp(up.session.devEui, up.fCnt);
    counters.uplinks++;
    const device = devicesByEui.get(up.session.devEui)!;
    let data: unknown = null;
    if (up.fPort !== null && up.fPort > 0) {
      const codec = codecs.get(device.id)!;
      const decoded = codec.decodeUplink({ bytes: up.payload, fPort: up.fPort });
      for (const w of decoded.warnings)
        ctx.log.warn({ deviceId: device.id, warning: w }, 'lorawan: codec warning');
      if (decoded.errors.length > 0) {
        fail('codec_error', `lorawan: ${device.id}: ${decoded.errors.join('; ')}`, { deviceId: device.id });
      } else {
        data = decoded.data;
        const ts = Math.max(ctx.now(), (lastTs.get(device.id) ?? 0) + 1);
        lastTs.set(device.id, ts);
        const active = codecStates.get(device.id) ?? new Set<string>();
        codecStates.set(device.id, active);
        const { readings, events } = codec.toTelemetry(decoded.data, device.id, ts, active);
        const best = receptions.reduce((a, b) => (b.snr > a.snr ? b : a));
        const radio: Reading[] = [
          { device: device.id, metric: 'rssi', value: best.rssi, unit: 'dBm', ts, quality: 'good' },
          { device: device.id, metric: 'snr', value: best.snr, unit: 'dB', ts, quality: 'good' },
          {
            device: device.id,
            metric: 'gateways',
            value: receptions.length,
            unit: 'count',
            ts,
            quality: 'good',
          },
        ];
        try {
          await ctx.emitReadings([...readings, ...radio]);
          for (const e of events) await ctx.emitEvent(e);
        } catch (err) {
          // Not stored, so not acknowledged: give the counter back, so that the device's retry of
          // this same frame (LoRaWAN 1.0 confirmed uplinks are resent with their FCnt) is taken
          // rather than refused as a replay, which would lose it. Unless a later frame moved on.
          if (up.session.fCntUp === up.fCnt) {
            up.session.fCntUp = previousFCnt;
            store!.setFCntUp(up.session.devEui, previousFCnt);
          }
          throw err;
        }
      }
    }
    hooks.onUplink?.({
      deviceId: device.id,
      devEui: up.session.devEui,
      devAddr,
      fCnt: up.fCnt,
      fPort: up.fPort,
      confirmed: up.confirmed,
      receptions,
      data,
    });
    // Class A: the only chance to reach the device is right after its uplink. The ACK goes out
    // only now that the readings are durable in the outbox.
    const queue = queues.get(device.id) ?? [];
    if (stopped || (!up.confirmed && queue.length === 0)) return;
    transmit(receptions, 'data', device.id, () => {
      const frame = queue.shift();
      const fCntDown = store!.takeFCntDown(up.session.devEui);
      up.session.fCntDown = fCntDown + 1;
      return buildDataDownlink(up.session, fCntDown, {
        ack: up.confirmed,
        fPending: queue.length > 0,
        frame,
      });
    });
  };

  const handleFrame = (phy: Buffer, receptions: Reception[]) => {
    if (stopped) return;
    const gateways = receptions.map((r) => r.gatewayEui);
    let pkt: LoraPacket;
    try {
      pkt = decodePhyPayload(phy);
    } catch (err) {
      handleError(err, { gateways });
      return;
    }
    const mtype = pkt.getMType();
    if (receptions.length > 1) counters.duplicatesMerged += receptions.length - 1;
    if (mtype === 'Join Request') {
      try {
        handleJoin(pkt, receptions);
      } catch (err) {
        handleError(err, { gateways });
      }
    } else if (mtype === 'Unconfirmed Data Up' || mtype === 'Confirmed Data Up') {
      handleData(pkt, receptions).catch((err) => handleError(err, { gateways }));
    } else {
      fail('mtype_unexpected', `lorawan: ${mtype} is not an uplink this server handles`, { gateways });
    }
  };

  const handlePushData = (gateway: GatewayState, body: Uint8Array) => {
    const { rxpk, stat } = parsePushData(body);
    gateway.pushDataReceived++;
    if (stat !== undefined) gateway.lastStat = stat;
    const heardAt = performance.now();
    for (const raw of rxpk) {
      const parsed = rxpkSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        fail(
          'rxpk_invalid',
          `lorawan: rxpk from ${gateway.eui}: ${issue?.path.join('.')}: ${issue?.message}`,
        );
        continue;
      }
      const rx = parsed.data;
      gateway.rxpkReceived++;
      if (rx.stat !== 1) {
        fail('rxpk_crc_bad', `lorawan: rxpk from ${gateway.eui} with CRC status ${rx.stat} dropped`);
        continue;
      }
      const phy = Buffer.from(rx.data, 'base64');
      if (phy.length !== rx.size || phy.length < 12) {
        fail(
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
      if (dedup!.add(phy, reception) === 'overflow') {
        fail('dedup_overflow', `lorawan: more than ${MAX_PENDING_FRAMES} frames pending; frame dropped`);
      }
    }
  };

  const handleDatagram = (msg: Buffer, rinfo: RemoteInfo) => {
    if (stopped) return;
    const packet = parseDatagram(msg);
    const now = ctx.now();
    const admit = (eui: string) => {
      const a = registry.admit(eui, rinfo.address, now);
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
        send(buildPushAck(packet.token, packet.version), rinfo.address, rinfo.port);
        handlePushData(g, packet.body);
        return;
      }
      case 'PULL_DATA': {
        const g = admit(packet.gatewayEui);
        const old = g.pullAddress;
        if (old === undefined) {
          ctx.log.info(
            { gateway: g.eui, route: `${rinfo.address}:${rinfo.port}` },
            'lorawan: gateway downlink route open',
          );
        } else if (old.address !== rinfo.address || old.port !== rinfo.port) {
          // Where downlinks go is a security decision (Semtech UDP is unauthenticated): count and log it.
          g.routeChanges++;
          ctx.countError('gateway_route_changed');
          ctx.log.warn(
            { gateway: g.eui, from: `${old.address}:${old.port}`, to: `${rinfo.address}:${rinfo.port}` },
            'lorawan: gateway downlink route changed',
          );
        }
        g.pullAddress = { address: rinfo.address, port: rinfo.port };
        g.pullVersion = packet.version;
        send(buildPullAck(packet.token, packet.version), rinfo.address, rinfo.port);
        return;
      }
      case 'TX_ACK': {
        const g = admit(packet.gatewayEui);
        const pending = pendingTx.get(packet.token);
        pendingTx.delete(packet.token);
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
  };

  return {
    inventory(): InventoryEntry[] {
      return config.devices.map((d) => ({
        id: d.id,
        kind: `lorawan-${codecs.get(d.id)!.name}`,
        driver: 'lorawan',
        metrics: [
          ...codecs.get(d.id)!.metrics,
          { name: 'rssi', unit: 'dBm' },
          { name: 'snr', unit: 'dB' },
          { name: 'gateways', unit: 'count' },
        ],
      }));
    },

    async start(context) {
      ctx = context;
      stopped = false;
      registry = createGatewayRegistry(config.gateways, config.allowUnknownGateways);
      store = openSessionStore(ctx.dataDir);
      loadSessions(store);
      dedup = createDeduplicator(config.dedupWindowMs, MAX_PENDING_FRAMES, handleFrame);
      const sock = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      socket = sock;
      sock.on('message', (msg, rinfo) => {
        try {
          handleDatagram(msg, rinfo);
        } catch (err) {
          handleError(err, { from: `${rinfo.address}:${rinfo.port}`, bytes: msg.length });
        }
      });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(config.port, config.bind, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.on('error', (err) => {
        if (!stopped) ctx.fail(err);
      });
      boundPort = sock.address().port;
      ctx.log.info(
        { port: boundPort, bind: config.bind, region: region.name, devices: config.devices.length },
        'lorawan: listening for Semtech UDP packet forwarders',
      );
    },

    async stop() {
      stopped = true;
      dedup?.close();
      const sock = socket;
      socket = undefined;
      if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
      store?.close();
      store = undefined;
      for (const c of codecs.values()) c.dispose();
    },

    async command(cmd: Command): Promise<CommandResult['data']> {
      const device = devicesById.get(cmd.device);
      if (device === undefined)
        throw new LorawanError('bad_command', `device ${cmd.device} is not a LoRaWAN device here`);
      if (cmd.action !== 'downlink')
        throw new LorawanError('bad_command', `action ${cmd.action} unsupported; use downlink`);
      const { fPort, payloadHex, confirmed } = cmd.params;
      if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 1 || fPort > 223) {
        throw new LorawanError('bad_command', `fPort ${String(fPort)} must be an integer 1..223`);
      }
      if (typeof payloadHex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(payloadHex)) {
        throw new LorawanError('bad_command', `payloadHex ${String(payloadHex)} must be hex bytes`);
      }
      if (payloadHex.length / 2 > MAX_DOWNLINK_PAYLOAD) {
        throw new LorawanError(
          'bad_command',
          `payload of ${payloadHex.length / 2} bytes exceeds ${MAX_DOWNLINK_PAYLOAD}`,
        );
      }
      if (confirmed !== undefined && typeof confirmed !== 'boolean') {
        throw new LorawanError('bad_command', `confirmed ${String(confirmed)} must be a boolean`);
      }
      const queue = queues.get(device.id) ?? [];
      if (queue.length >= config.maxQueuedDownlinks) {
        throw new LorawanError(
          'bad_command',
          `downlink queue of ${device.id} is full (${config.maxQueuedDownlinks})`,
        );
      }
      queue.push({ fPort, payload: Buffer.from(payloadHex, 'hex'), confirmed: confirmed === true });
      queues.set(device.id, queue);
      return { queued: queue.length };
    },

    port: () => boundPort,

    status: () => ({
      port: boundPort,
      gateways: registry.list().map((g) => ({ ...g })),
      ...counters,
      errors: { ...errors },
    }),
  };
}
