import type { Reception } from './dedup.js';
import { type Region, dataRateIndex, rx1DataRate } from './region.js';
import type { Txpk } from './semtech-udp.js';

/**
 * Class A receive windows, LoRaWAN 1.0.x Regional Parameters defaults: a downlink answering a
 * data uplink starts RECEIVE_DELAY1 = 1 s (RX1) or RECEIVE_DELAY2 = 2 s (RX2) after the end of
 * the uplink; a join-accept JOIN_ACCEPT_DELAY1 = 5 s or JOIN_ACCEPT_DELAY2 = 6 s after it.
 * The gateway timestamps the uplink's end (`tmst`, µs), so the txpk asks for `tmst + delay`.
 */
export const RX_DELAYS_S = {
  data: { rx1: 1, rx2: 2 },
  join: { rx1: 5, rx2: 6 },
} as const;

/** RX1DROffset this server puts in join-accepts (DLSettings); 0 = RX1 at the uplink's datarate. */
export const RX1_DR_OFFSET = 0;

export interface PlannedTx {
  window: 'rx1' | 'rx2';
  txpk: Omit<Txpk, 'size' | 'data'>;
}

/**
 * Picks the receive window still reachable: `elapsedMs` is how long ago the uplink was first heard
 * here, `leadMs` how early the gateway must have the PULL_RESP. Undefined when both have passed.
 */
export function planDownlink(
  region: Region,
  reception: Reception,
  kind: 'data' | 'join',
  elapsedMs: number,
  leadMs: number,
): PlannedTx | undefined {
  const delays = RX_DELAYS_S[kind];
  const uplinkDr = dataRateIndex(region, reception.datr);
  const base = {
    imme: false,
    rfch: 0,
    powe: region.txPowerDbm,
    modu: 'LORA' as const,
    codr: '4/5',
    ipol: true,
  };
  if (uplinkDr !== undefined && elapsedMs + leadMs < delays.rx1 * 1000) {
    return {
      window: 'rx1',
      txpk: {
        ...base,
        tmst: (reception.tmst + delays.rx1 * 1_000_000) >>> 0,
        freq: region.rx1Frequency(reception.freqMHz),
        datr: region.dataRates[rx1DataRate(region, uplinkDr, RX1_DR_OFFSET)]!,
      },
    };
  }
  if (elapsedMs + leadMs < delays.rx2 * 1000) {
    return {
      window: 'rx2',
      txpk: {
        ...base,
        tmst: (reception.tmst + delays.rx2 * 1_000_000) >>> 0,
        freq: region.rx2.freqMHz,
        datr: region.dataRates[region.rx2.dataRate]!,
      },
    };
  }
  return undefined;
}
