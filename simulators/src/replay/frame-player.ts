import type { GatewaySim } from '../lorawan/gateway-sim.js';
import type { RadioMedium } from '../lorawan/radio-medium.js';
import type { TcpSimulator } from '../modbus/tcp-sim.js';
import type { Frame, Proto, RecordingHeader } from '../record/recording-format.js';
import type { UplinkRelay } from '../scenario/uplink-relay.js';

/**
 * Where a station's edge listens, per protocol: each protocol's frames go through its simulator.
 */
export interface StationEndpoints {
  host: string;
  /** UDP port of the edge's LoRaWAN (Semtech UDP) server. */
  lorawan?: number;
  /** UDP port of the edge's CoAP server. */
  nbiot?: number;
  /** TCP port of the edge's camera push listener. */
  camera?: number;
  /** TCP port the simulated Modbus gateway listens on (the edge's modbus driver connects to it). */
  modbus?: number;
  /** The relay carrying the edge's MQTT uplink, cut during `link down` frames. */
  relay?: UplinkRelay;
}

export interface ProtoCounts {
  sent: number;
  acknowledged: number;
  errors: number;
}

/** A frame that could not be played; `reason` is the counter it goes to. */
export class FrameError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The simulators a station's frames go through during one play. */
export interface StationRig {
  modbus?: TcpSimulator;
  radio?: RadioMedium;
  gateways: GatewaySim[];
  ackBaseline: number;
}

/** What every player of one play shares. */
export interface PlayerDeps {
  header: RecordingHeader;
  frames: readonly Frame[];
  rigs: Map<string, StationRig>;
  /** How long one frame may wait for its ack, ms. */
  timeoutMs: number;
  /** Counts `f` as acknowledged by its protocol. */
  acked(f: Frame): void;
  /** The running counts of one protocol (made on first use). */
  counts(p: Proto): ProtoCounts;
  /** The summary as it stands: acks counted at the end add to it. */
  summary: { acknowledged: number; byProto: Partial<Record<Proto, ProtoCounts>> };
}

/** One frame's station, and the counting the player does as it goes on the wire. */
export interface FrameContext {
  station: string;
  endpoints: StationEndpoints | undefined;
  /** Counts the frame as sent and reports it (onSent); throws no_endpoint when the station has no endpoints. */
  sent(): StationEndpoints;
  /** Counts the frame as sent without reporting it (a link change puts nothing on a device wire). */
  sentQuietly(): void;
  /** Counts the frame as skipped: nothing to act on. */
  skipped(): void;
}

/**
 * Plays one protocol's frames. `play` resolves once the frame is on the wire (and, where the
 * protocol acks at once, acknowledged) and throws FrameError for a frame that failed;
 * `settled` says whether acks still due have come, and `finish` counts acks known only at the end.
 */
export interface FramePlayer<F extends Frame = Frame> {
  play(f: F, bytes: Buffer, ctx: FrameContext): Promise<void> | void;
  settled?(): boolean;
  finish?(): void;
}

export type FrameOf<P extends Proto> = Extract<Frame, { proto: P }>;

/** One player per protocol: the table playFrames dispatches on. */
export type PlayerTable = { [P in Proto]: FramePlayer<FrameOf<P>> };
