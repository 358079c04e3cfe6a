import type { Table } from '@village/device-drivers/modbus';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { type TcpSimulator, startTcpSimulator } from '../modbus/tcp-sim.js';
import { applySpanBytes } from '../record/modbus-register-frame.js';
import { type Frame, stationOf } from '../record/recording-format.js';
import {
  FrameError,
  type FrameOf,
  type FramePlayer,
  type PlayerDeps,
  type StationEndpoints,
} from './frame-player.js';

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

/**
 * Modbus frames as table contents the simulated TCP gateway serves to the edge's polls.
 * Acknowledged by a poll that read the unit after the frame was loaded (a frame replaced before
 * any poll is sent, never acknowledged).
 */
export function createModbusPlayer(deps: PlayerDeps): FramePlayer<FrameOf<'modbus'>> {
  /** Modbus unit → poll count when its current frame was loaded, until a poll reads it. */
  const modbusPending = new Map<string, { frame: Frame; requests: number }>();
  const modbusCheck = (key: string, slaveRequests: number) => {
    const p = modbusPending.get(key);
    if (p && slaveRequests > p.requests) {
      modbusPending.delete(key);
      deps.acked(p.frame);
    }
  };
  return {
    play(f, bytes, ctx) {
      ctx.sent();
      const st = ctx.station;
      const slave = deps.rigs.get(st)!.modbus!.slaves.get(f.meta.unitId)!;
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
    },
    // Give the edge its poll period to read the last tables.
    settled() {
      for (const key of [...modbusPending.keys()]) {
        const cut = key.lastIndexOf('/');
        modbusCheck(
          key,
          deps.rigs.get(key.slice(0, cut))!.modbus!.slaves.get(Number(key.slice(cut + 1)))!.requests,
        );
      }
      return modbusPending.size === 0;
    },
  };
}
