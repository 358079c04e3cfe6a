import { performance } from 'node:perf_hooks';
import type { Table } from '@village/device-drivers/modbus';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import coap from 'coap';
import { type GatewaySim, startGatewaySim } from '../lorawan/gateway-sim.js';
import { type RadioMedium, createRadioMedium } from '../lorawan/radio-medium.js';
import { type TcpSimulator, startTcpSimulator } from '../modbus/tcp-sim.js';
import { applySpanBytes } from '../record/modbus-register-frame.js';
import {
  type Frame,
  type Proto,
  type RecordingHeader,
  type RecordingWriter,
  deviceOf,
  stationOf,
} from '../record/recording-format.js';
import type { UplinkRelay } from '../scenario/uplink-relay.js';
import type { ProgressReporter } from './progress-reporter.js';

/**
 * Puts frames on the wire against a station's edge, paced by their scenario time: the one path
 * for a live scenario run and for a replay. Each protocol goes through its simulator: LoRaWAN
 * frames over the air to simulated Semtech gateways, NB-IoT as CoAP POSTs, cameras as HTTP
 * pushes, Modbus as table contents the simulated TCP gateway serves to the edge's polls.
 *
 * Acknowledged means the protocol's own ack: CoAP 2.xx (2.04 Changed), HTTP 2xx, PUSH_ACK from
 * the network server for every gateway that forwarded the frame, and, for Modbus, a poll that
 * read the unit after the frame was loaded (a frame replaced before any poll is unacknowledged).
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

export interface ProtoCounts {
  sent: number;
  acknowledged: number;
  errors: number;
}

export interface PlaySummary extends ProtoCounts {
  /** link frames with no relay to act on, and frames left when aborted. */
  skipped: number;
  byProto: Partial<Record<Proto, ProtoCounts>>;
  errorReasons: Record<string, number>;
  wallMs: number;
}

/** A frame that could not be played; `reason` is the counter it goes to. */
class FrameError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface StationRig {
  modbus?: TcpSimulator;
  radio?: RadioMedium;
  gateways: GatewaySim[];
  ackBaseline: number;
}

const ms = (n: number) => new Promise<void>((r) => setTimeout(r, n));

/**
 * Starts the simulated Modbus TCP gateway of every station that has Modbus frames, each unit
 * preloaded with its first frame (a real device has values before its first change), so an
 * edge started afterwards never polls a closed port or an empty table. Start these before the
 * edge when the stored readings must not depend on start-up order.
 */
export async function startModbusGateways(
  frames: readonly Frame[],
  endpoints: Record<string, StationEndpoints>,
): Promise<Map<string, TcpSimulator>> {
  const units = new Map<string, Map<number, string>>();
  const first = new Map<string, Frame>();
  for (const f of frames) {
    if (f.proto !== 'modbus') continue;
    const st = stationOf(f);
    const m = units.get(st) ?? new Map<number, string>();
    m.set(f.meta.unitId, f.meta.profile);
    units.set(st, m);
    const key = `${st}/${f.meta.unitId}/${f.meta.table}`;
    if (!first.has(key)) first.set(key, f);
  }
  const sims = new Map<string, TcpSimulator>();
  for (const [st, slaves] of units) {
    const ep = endpoints[st];
    if (ep?.modbus === undefined) throw new RangeError(`station ${st} has Modbus frames but no modbus port`);
    const sim = await startTcpSimulator({
      host: ep.host,
      port: ep.modbus,
      slaves: [...slaves].map(([unitId, profile]) => ({
        unitId,
        profile: loadProfileFile(shippedProfilePath(profile)),
      })),
    });
    sims.set(st, sim);
  }
  for (const f of first.values()) {
    if (f.proto !== 'modbus') continue;
    const slave = sims.get(stationOf(f))!.slaves.get(f.meta.unitId)!;
    try {
      applySpanBytes(slave.image, f.meta.table as Table, f.meta.address, Buffer.from(f.bytes, 'base64'));
    } catch {
      // a corrupted first frame is counted when it is played; the unit starts empty
    }
  }
  return sims;
}

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
    if (lora.has(st)) {
      if (ep.lorawan === undefined)
        throw new RangeError(`station ${st} has LoRaWAN frames but no lorawan port`);
      const euis = header.stations[st]?.gateways ?? [];
      if (euis.length === 0)
        throw new RangeError(`station ${st} has LoRaWAN frames but the header names no gateway`);
      rig.radio = createRadioMedium();
      for (const eui of euis)
        rig.gateways.push(
          await startGatewaySim({ eui, serverHost: ep.host, serverPort: ep.lorawan, radio: rig.radio }),
        );
      // Each gateway opens with a stat PUSH_DATA; its PUSH_ACK is not a frame's ack.
      const deadline = Date.now() + 5_000;
      while (rig.gateways.some((g) => g.stats.pushAcks < 1) && Date.now() < deadline) await ms(20);
      rig.ackBaseline = rig.gateways.reduce((n, g) => n + g.stats.pushAcks, 0);
    }
  }
  return rigs;
}

function coapPost(
  host: string,
  port: number,
  imei: string,
  body: Buffer,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = coap.request({
      hostname: host,
      port,
      pathname: `/t/${imei}`,
      method: 'POST',
      confirmable: true,
    });
    req.setOption('Content-Format', 'application/cbor');
    const timer = setTimeout(
      () => reject(new FrameError('nbiot_timeout', `no CoAP answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume?.();
      resolve(res.code);
    });
    req.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(new FrameError('nbiot_error', err.message));
    });
    req.end(body);
  });
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
  /** Modbus unit → poll count when its current frame was loaded, until a poll reads it. */
  const modbusPending = new Map<string, { frame: Frame; requests: number }>();
  const modbusCheck = (key: string, slaveRequests: number) => {
    const p = modbusPending.get(key);
    if (p && slaveRequests > p.requests) {
      modbusPending.delete(key);
      acked(p.frame);
    }
  };

  const send = async (f: Frame): Promise<void> => {
    const st = stationOf(f);
    const ep = opts.endpoints[st];
    const bytes = Buffer.from(f.bytes, 'base64');
    if (f.proto === 'link') {
      if (!ep?.relay) {
        summary.skipped++;
        return;
      }
      ep.relay.setDown(f.meta.state === 'down');
      summary.sent++;
      counts('link').sent++;
      acked(f);
      return;
    }
    summary.sent++;
    counts(f.proto).sent++;
    opts.onSent?.(f, performance.now());
    if (!ep) throw new FrameError('no_endpoint', `no endpoints for station ${st}`);
    if (f.proto === 'modbus') {
      const slave = rigs.get(st)!.modbus!.slaves.get(f.meta.unitId)!;
      const key = `${st}/${f.meta.unitId}`;
      modbusCheck(key, slave.requests);
      const left = modbusPending.get(key);
      if (left) modbusPending.delete(key); // replaced before any poll read it: sent, never acknowledged
      try {
        applySpanBytes(slave.image, f.meta.table as Table, f.meta.address, bytes);
      } catch (err) {
        throw new FrameError('modbus_bad_frame', (err as Error).message);
      }
      modbusPending.set(key, { frame: f, requests: slave.requests });
    } else if (f.proto === 'lorawan') {
      const heard = rigs.get(st)!.radio!.transmit(bytes, f.meta);
      if (heard.size === 0) throw new FrameError('lorawan_unheard', 'no gateway heard the frame');
    } else if (f.proto === 'nbiot') {
      if (ep.nbiot === undefined) throw new FrameError('no_endpoint', `station ${st} has no nbiot port`);
      const code = await coapPost(ep.host, ep.nbiot, f.meta.imei, bytes, timeoutMs);
      if (!code.startsWith('2.')) throw new FrameError(`coap_${code}`, `CoAP ${code}`);
      acked(f);
    } else if (f.proto === 'camera') {
      if (ep.camera === undefined) throw new FrameError('no_endpoint', `station ${st} has no camera port`);
      const cred = header.stations[st]?.cameras[deviceOf(f)];
      const headers: Record<string, string> = { 'content-type': f.meta.contentType };
      if (cred)
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      let res: Response;
      try {
        res = await fetch(`http://${ep.host}:${ep.camera}${f.meta.path}`, {
          method: 'POST',
          headers,
          body: bytes,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer();
      } catch (err) {
        throw new FrameError('http_error', (err as Error).message);
      }
      if (res.status < 200 || res.status > 299)
        throw new FrameError(`http_${res.status}`, `HTTP ${res.status}`);
      acked(f);
    }
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

  // Modbus: give the edge its poll period to read the last tables; LoRaWAN: let PUSH_ACKs arrive.
  const deadline = Date.now() + (opts.modbusSettleMs ?? 5_000);
  const settled = () => {
    for (const key of [...modbusPending.keys()]) {
      const cut = key.lastIndexOf('/');
      modbusCheck(key, rigs.get(key.slice(0, cut))!.modbus!.slaves.get(Number(key.slice(cut + 1)))!.requests);
    }
    const loraSent = frames.filter((f) => f.proto === 'lorawan').length;
    const loraAcks = [...rigs.values()].reduce(
      (n, r) =>
        n +
        (r.gateways.length === 0
          ? 0
          : Math.floor(
              (r.gateways.reduce((a, g) => a + g.stats.pushAcks, 0) - r.ackBaseline) / r.gateways.length,
            )),
      0,
    );
    return modbusPending.size === 0 && loraAcks >= Math.min(loraSent, summary.byProto.lorawan?.sent ?? 0);
  };
  while (!settled() && Date.now() < deadline && !opts.signal?.aborted) await ms(50);
  for (const r of rigs.values()) {
    if (r.gateways.length === 0) continue;
    const perFrame = Math.floor(
      (r.gateways.reduce((a, g) => a + g.stats.pushAcks, 0) - r.ackBaseline) / r.gateways.length,
    );
    const c = counts('lorawan');
    const add = Math.min(perFrame, c.sent - c.errors - c.acknowledged);
    c.acknowledged += add;
    summary.acknowledged += add;
  }
  for (const r of rigs.values()) {
    if (ownModbus) await r.modbus?.stop();
    await Promise.all(r.gateways.map((g) => g.stop()));
  }
  summary.wallMs = performance.now() - wallStart;
  opts.progress?.finish(snapshot(frames.at(-1)?.t ?? 0));
  return summary;
}
