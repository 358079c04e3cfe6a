import type { Socket } from 'node:dgram';
import type { ResolvedCodec } from '../codec-registry.js';
import type { DriverContext } from '../driver.js';
import type { AdrHistoryEntry, AdrResult } from './adr.js';
import type { LorawanConfig, LorawanDeviceConfig } from './config.js';
import type { Deduplicator, Reception } from './dedup.js';
import type { DownlinkQueue } from './downlink-queue.js';
import { LorawanError, type LorawanErrorCode } from './errors.js';
import { type GatewayRegistry, createGatewayRegistry } from './gateway-registry.js';
import type { OtaaDevice } from './join-request.js';
import { REGIONS, type Region } from './region.js';
import type { Session, SessionStore } from './session-store.js';

/**
 * The state the LoRaWAN driver's parts share, as plain data: the gateway link, the join and data
 * uplink handlers, the downlink scheduler and the command handler each take it as their first
 * argument (the split ChirpStack makes between gateway backend, uplink/{join,data},
 * downlink/{scheduler,tx_ack} and its API).
 */

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

/** What the MAC layer remembers of one device (in memory: a restart only restarts ADR's history). */
export interface MacState {
  /** The last uplinks' best SNR, for ADR. */
  history: AdrHistoryEntry[];
  /** TXPower index the device acknowledged last (0, the maximum, until a LinkADRReq is taken). */
  txPowerIndex: number;
  nbTrans: number;
  /** The LinkADRReq sent and not yet answered. */
  adrPending?: AdrResult;
  lastDevStatusAt?: number;
}

/** A PULL_RESP waiting for its TX_ACK. */
export interface PendingTx {
  gatewayEui: string;
  deviceId: string;
}

export interface LorawanCounters {
  uplinks: number;
  duplicatesMerged: number;
  joins: number;
  downlinksSent: number;
  /** Confirmed downlinks sent again because the device's next uplink did not acknowledge them. */
  retransmissions: number;
  downlinksAcked: number;
  /** Confirmed downlinks given up after their retries (`downlink_not_acked`). */
  downlinksFailed: number;
  macCommandsIn: number;
  macCommandsOut: number;
}

export interface LorawanRuntime {
  readonly config: LorawanConfig;
  readonly region: Region;
  readonly netId: Buffer;
  readonly hooks: LorawanDriverHooks;
  readonly devicesByEui: ReadonlyMap<string, LorawanDeviceConfig>;
  readonly devicesById: ReadonlyMap<string, LorawanDeviceConfig>;
  readonly otaaDevices: ReadonlyMap<string, OtaaDevice>;
  /** Device id → its codec: built-in or a JavaScript codec profile (codec-registry.ts), loaded at create. */
  readonly codecs: ReadonlyMap<string, ResolvedCodec>;
  /** Device id → the codec's active states (a state event is raised once until it clears). */
  readonly codecStates: Map<string, Set<string>>;
  /** Set by `start`; every handler runs after it. */
  ctx: DriverContext;
  socket: Socket | undefined;
  store: SessionStore | undefined;
  dedup: Deduplicator | undefined;
  registry: GatewayRegistry;
  boundPort: number;
  stopped: boolean;
  /** DevAddr → sessions using it (DevAddrs need not be unique). */
  readonly byDevAddr: Map<string, Session[]>;
  readonly sessionsByEui: Map<string, Session>;
  /** Persistent downlink queue (opened by `start`). */
  downlinks: DownlinkQueue | undefined;
  /** DevEUI → MAC-layer state. */
  readonly mac: Map<string, MacState>;
  readonly pendingTx: Map<number, PendingTx>;
  /** Last reading timestamp per device, so two uplinks in one ms still order. */
  readonly lastTs: Map<string, number>;
  readonly counters: LorawanCounters;
  readonly errors: Record<string, number>;
}

export function createRuntime(
  config: LorawanConfig,
  hooks: LorawanDriverHooks,
  codecs: ReadonlyMap<string, ResolvedCodec>,
): LorawanRuntime {
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
  return {
    config,
    region: REGIONS[config.region],
    netId: Buffer.from(config.netId, 'hex'),
    hooks,
    codecs,
    codecStates: new Map(),
    devicesByEui: new Map(config.devices.map((d) => [d.devEui, d])),
    devicesById: new Map(config.devices.map((d) => [d.id, d])),
    otaaDevices,
    ctx: undefined as unknown as DriverContext,
    socket: undefined,
    store: undefined,
    dedup: undefined,
    registry: createGatewayRegistry([], false),
    boundPort: 0,
    stopped: false,
    byDevAddr: new Map(),
    sessionsByEui: new Map(),
    downlinks: undefined,
    mac: new Map(),
    pendingTx: new Map(),
    lastTs: new Map(),
    counters: {
      uplinks: 0,
      duplicatesMerged: 0,
      joins: 0,
      downlinksSent: 0,
      retransmissions: 0,
      downlinksAcked: 0,
      downlinksFailed: 0,
      macCommandsIn: 0,
      macCommandsOut: 0,
    },
    errors: {},
  };
}

/** Counts, labels and logs one refused input: the code is the /metrics label and the log's reason. */
export function fail(
  rt: LorawanRuntime,
  code: LorawanErrorCode | 'internal',
  msg: string,
  extra: object = {},
): void {
  rt.errors[code] = (rt.errors[code] ?? 0) + 1;
  rt.ctx.countError(code);
  rt.ctx.log.warn({ reason: code, ...extra }, msg);
}

export function handleError(rt: LorawanRuntime, err: unknown, extra: object = {}): void {
  if (err instanceof LorawanError) fail(rt, err.code, err.message, extra);
  else {
    rt.errors.internal = (rt.errors.internal ?? 0) + 1;
    rt.ctx.countError('internal');
    rt.ctx.log.error({ err: String((err as Error)?.stack ?? err), ...extra }, 'lorawan: unexpected error');
  }
}

/** Makes `s` the device's current session, under its (possibly new) DevAddr. */
export function indexSession(rt: LorawanRuntime, s: Session): void {
  const old = rt.sessionsByEui.get(s.devEui);
  if (old !== undefined) {
    const list = rt.byDevAddr.get(old.devAddr)?.filter((x) => x.devEui !== s.devEui) ?? [];
    if (list.length > 0) rt.byDevAddr.set(old.devAddr, list);
    else rt.byDevAddr.delete(old.devAddr);
  }
  rt.sessionsByEui.set(s.devEui, s);
  rt.byDevAddr.set(s.devAddr, [...(rt.byDevAddr.get(s.devAddr) ?? []), s]);
}

/** Installs ABP sessions from config; stored counters are kept while address and keys are unchanged. */
export function loadSessions(rt: LorawanRuntime, db: SessionStore): void {
  for (const s of db.all()) if (rt.devicesByEui.has(s.devEui)) indexSession(rt, s);
  for (const d of rt.config.devices) {
    if (d.activation !== 'abp') continue;
    const stored = rt.sessionsByEui.get(d.devEui);
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
    indexSession(rt, s);
  }
}
