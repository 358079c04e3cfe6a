import { performance } from 'node:perf_hooks';
import type { TcpSimulator } from '../modbus/tcp-sim.js';
import {
  type Frame,
  type Proto,
  type RecordingHeader,
  type RecordingWriter,
  stationOf,
} from '../record/recording-format.js';
import { createCameraPlayer } from './camera-player.js';
import {
  type FrameContext,
  FrameError,
  type FramePlayer,
  type PlayerDeps,
  type PlayerTable,
  type ProtoCounts,
  type StationEndpoints,
  type StationRig,
} from './frame-player.js';
import { createLinkPlayer } from './link-player.js';
import { createLorawanPlayer, startLoraGateways } from './lorawan-player.js';
import { createModbusPlayer, startModbusGateways } from './modbus-player.js';
import { createNbiotPlayer } from './nbiot-player.js';
import type { ProgressReporter } from './progress-reporter.js';

export type { ProtoCounts, StationEndpoints } from './frame-player.js';
export { startModbusGateways } from './modbus-player.js';

/**
 * Puts frames on the wire against a station's edge, paced by their scenario time: the one path
 * for a live scenario run and for a replay. Each protocol goes through its simulator, played by
 * its entry in a table of players (one file each): LoRaWAN frames over the air to simulated
 * Semtech gateways, NB-IoT as CoAP POSTs, cameras as HTTP pushes, Modbus as table contents the
 * simulated TCP gateway serves to the edge's polls, link frames through the uplink relay.
 *
 * Acknowledged means the protocol's own ack: CoAP 2.xx (2.04 Changed), HTTP 2xx, PUSH_ACK from
 * the network server for every gateway that forwarded the frame, and, for Modbus, a poll that
 * read the unit after the frame was loaded (a frame replaced before any poll is unacknowledged).
 */
export interface PlayOptions {
  endpoints: Record<string, StationEndpoints>;
  /** Scenario ms per wall-clock ms (1 = real time), or 'max' for as fast as acks allow. */
  speed: number | 'max';
  recorder?: RecordingWriter;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /** Sends waiting for an ack at once (all protocols); one device's frames always go in order. */
  concurrency?: number;
  /** How long one frame may wait for its ack, ms. */
  ackTimeoutMs?: number;
  /** After the last frame, how long Modbus units may take to be polled once more, ms. */
  modbusSettleMs?: number;
  /** Called when a frame went on the wire (wall-clock ms), and when its ack came. */
  onSent?: (f: Frame, at: number) => void;
  onAck?: (f: Frame, at: number) => void;
  /** Modbus gateways already started with startModbusGateways (left running at the end). */
  modbus?: Map<string, TcpSimulator>;
}

export interface PlaySummary extends ProtoCounts {
  /** link frames with no relay to act on, and frames left when aborted. */
  skipped: number;
  byProto: Partial<Record<Proto, ProtoCounts>>;
  errorReasons: Record<string, number>;
  wallMs: number;
}

const ms = (n: number) => new Promise<void>((r) => setTimeout(r, n));

async function startRigs(
  header: RecordingHeader,
  frames: Frame[],
  opts: PlayOptions,
  modbus: Map<string, TcpSimulator>,
): Promise<Map<string, StationRig>> {
  const rigs = new Map<string, StationRig>();
  const lora = new Set(frames.filter((f) => f.proto === 'lorawan').map(stationOf));
  for (const st of new Set([...modbus.keys(), ...lora])) {
    const ep = opts.endpoints[st];
    if (!ep) throw new RangeError(`no endpoints for station ${st}`);
    const rig: StationRig = { gateways: [], ackBaseline: 0, modbus: modbus.get(st) };
    rigs.set(st, rig);
    if (lora.has(st)) await startLoraGateways(st, ep, header.stations[st]?.gateways ?? [], rig);
  }
  return rigs;
}

export async function playFrames(
  header: RecordingHeader,
  frames: Frame[],
  opts: PlayOptions,
): Promise<PlaySummary> {
  const ownModbus = opts.modbus === undefined;
  const modbus = opts.modbus ?? (await startModbusGateways(frames, opts.endpoints));
  const rigs = await startRigs(header, frames, opts, modbus);
  const timeoutMs = opts.ackTimeoutMs ?? 10_000;
  const concurrency = opts.concurrency ?? 64;
  const summary: PlaySummary = {
    sent: 0,
    acknowledged: 0,
    errors: 0,
    skipped: 0,
    byProto: {},
    errorReasons: {},
    wallMs: 0,
  };
  const counts = (p: Proto) => {
    summary.byProto[p] ??= { sent: 0, acknowledged: 0, errors: 0 };
    return summary.byProto[p]!;
  };
  const fail = (f: Frame, reason: string) => {
    summary.errors++;
    counts(f.proto).errors++;
    summary.errorReasons[reason] = (summary.errorReasons[reason] ?? 0) + 1;
  };
  const acked = (f: Frame) => {
    summary.acknowledged++;
    counts(f.proto).acknowledged++;
    opts.onAck?.(f, performance.now());
  };
  const deps: PlayerDeps = { header, frames, rigs, timeoutMs, acked, counts, summary };
  const players: PlayerTable = {
    modbus: createModbusPlayer(deps),
    lorawan: createLorawanPlayer(deps),
    nbiot: createNbiotPlayer(deps),
    camera: createCameraPlayer(deps),
    link: createLinkPlayer(deps),
  };
  const everyPlayer = Object.values(players) as FramePlayer<never>[];

  const send = async (f: Frame): Promise<void> => {
    const st = stationOf(f);
    const ep = opts.endpoints[st];
    const countSent = () => {
      summary.sent++;
      counts(f.proto).sent++;
    };
    const ctx: FrameContext = {
      station: st,
      endpoints: ep,
      sent() {
        countSent();
        opts.onSent?.(f, performance.now());
        if (!ep) throw new FrameError('no_endpoint', `no endpoints for station ${st}`);
        return ep;
      },
      sentQuietly: countSent,
      skipped() {
        summary.skipped++;
      },
    };
    await (players[f.proto] as FramePlayer).play(f, Buffer.from(f.bytes, 'base64'), ctx);
  };

  const chains = new Map<string, Promise<void>>();
  let inFlight = 0;
  let done = 0;
  let freed: (() => void) | undefined;
  const snapshot = (t: number) => ({
    done,
    total: frames.length,
    sent: summary.sent,
    acknowledged: summary.acknowledged,
    errors: summary.errors,
    t,
  });
  const wallStart = performance.now();
  const firstT = frames[0]?.t ?? 0;
  for (const f of frames) {
    if (opts.signal?.aborted) break;
    if (opts.speed !== 'max') {
      const wait = wallStart + (f.t - firstT) / opts.speed - performance.now();
      if (wait > 1) await ms(wait);
    }
    while (inFlight >= concurrency)
      await new Promise<void>((r) => {
        freed = r;
      });
    inFlight++;
    opts.recorder?.write(f);
    const prev = chains.get(f.target) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        await send(f);
      } catch (err) {
        fail(f, err instanceof FrameError ? err.reason : 'send_error');
      } finally {
        inFlight--;
        done++;
        freed?.();
        freed = undefined;
        opts.progress?.update(snapshot(f.t));
      }
    });
    chains.set(f.target, next);
  }
  await Promise.all(chains.values());
  summary.skipped += frames.length - done;

  // Acks still due (Modbus polls, LoRaWAN PUSH_ACKs): every player is asked each round.
  const deadline = Date.now() + (opts.modbusSettleMs ?? 5_000);
  const settled = () => everyPlayer.map((p) => p.settled?.() ?? true).every(Boolean);
  while (!settled() && Date.now() < deadline && !opts.signal?.aborted) await ms(50);
  for (const p of everyPlayer) p.finish?.();
  for (const r of rigs.values()) {
    if (ownModbus) await r.modbus?.stop();
    await Promise.all(r.gateways.map((g) => g.stop()));
  }
  summary.wallMs = performance.now() - wallStart;
  opts.progress?.finish(snapshot(frames.at(-1)?.t ?? 0));
  return summary;
}
