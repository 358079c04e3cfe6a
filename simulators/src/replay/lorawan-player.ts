import { type GatewaySim, startGatewaySim } from '../lorawan/gateway-sim.js';
import { createRadioMedium } from '../lorawan/radio-medium.js';
import {
  FrameError,
  type FrameOf,
  type FramePlayer,
  type PlayerDeps,
  type StationEndpoints,
  type StationRig,
} from './frame-player.js';

const ms = (n: number) => new Promise<void>((r) => setTimeout(r, n));

/**
 * Starts a station's simulated Semtech gateways on one radio medium (every gateway hears every
 * frame) and waits for each one's opening stat PUSH_ACK, which is not a frame's ack.
 */
export async function startLoraGateways(
  station: string,
  ep: StationEndpoints,
  euis: readonly string[],
  rig: StationRig,
): Promise<void> {
  if (ep.lorawan === undefined)
    throw new RangeError(`station ${station} has LoRaWAN frames but no lorawan port`);
  if (euis.length === 0)
    throw new RangeError(`station ${station} has LoRaWAN frames but the header names no gateway`);
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

/** Frames acknowledged per gateway so far: PUSH_ACKs since the baseline, over the gateways. */
const acksPerGateway = (r: StationRig, gateways: readonly GatewaySim[]) =>
  Math.floor((gateways.reduce((a, g) => a + g.stats.pushAcks, 0) - r.ackBaseline) / gateways.length);

/**
 * LoRaWAN frames over the air to the station's simulated gateways. Acknowledged by the network
 * server's PUSH_ACK from every gateway that forwarded the frame: counted at the end.
 */
export function createLorawanPlayer(deps: PlayerDeps): FramePlayer<FrameOf<'lorawan'>> {
  return {
    play(f, bytes, ctx) {
      ctx.sent();
      const heard = deps.rigs.get(ctx.station)!.radio!.transmit(bytes, f.meta);
      if (heard.size === 0) throw new FrameError('lorawan_unheard', 'no gateway heard the frame');
    },
    settled() {
      const loraSent = deps.frames.filter((f) => f.proto === 'lorawan').length;
      const loraAcks = [...deps.rigs.values()].reduce(
        (n, r) => n + (r.gateways.length === 0 ? 0 : acksPerGateway(r, r.gateways)),
        0,
      );
      return loraAcks >= Math.min(loraSent, deps.summary.byProto.lorawan?.sent ?? 0);
    },
    finish() {
      for (const r of deps.rigs.values()) {
        if (r.gateways.length === 0) continue;
        const perFrame = acksPerGateway(r, r.gateways);
        const c = deps.counts('lorawan');
        const add = Math.min(perFrame, c.sent - c.errors - c.acknowledged);
        c.acknowledged += add;
        deps.summary.acknowledged += add;
      }
    },
  };
}
