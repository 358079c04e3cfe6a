import type { Profile } from '@village/device-drivers/modbus';
import { type SlaveImage, createSlaveImage } from './slave-image.js';

/**
 * How a simulated slave misbehaves, for testing a master's error handling:
 *   exception   answers every request with this exception code (spec §7)
 *   silent      never answers (the master times out)
 *   bad-crc     answers with a corrupted CRC (RTU only; TCP has no CRC)
 *   wrong-unit  answers with another unit id in the reply
 */
export type SlaveFault =
  | { type: 'none' }
  | { type: 'exception'; code: number }
  | { type: 'silent' }
  | { type: 'bad-crc' }
  | { type: 'wrong-unit'; unitId?: number };

export interface SimSlave {
  readonly unitId: number;
  readonly image: SlaveImage;
  fault: SlaveFault;
  /** Requests addressed to this unit (counted whether or not it answered). */
  requests: number;
  /** Writes this unit accepted, newest last (table, address, values). */
  readonly writes: { table: 'coil' | 'holding'; address: number; values: number[] | boolean[] }[];
}

export interface SlaveSpec {
  unitId: number;
  profile: Profile;
}

export function createSimSlave(spec: SlaveSpec): SimSlave {
  return {
    unitId: spec.unitId,
    image: createSlaveImage(spec.profile),
    fault: { type: 'none' },
    requests: 0,
    writes: [],
  };
}
