/**
 * Regional parameters for the class A receive windows (LoRaWAN Regional Parameters RP002-1.0.x):
 * the RX1 frequency/datarate follow the uplink, RX2 is fixed per region.
 */
export type RegionName = 'CN470' | 'EU868';

export interface Region {
  name: RegionName;
  /** Datarate index → LoRa datarate identifier (125 kHz DRs only: what these devices use). */
  dataRates: readonly string[];
  /** RX1 frequency for an uplink on `freqMHz`, MHz. */
  rx1Frequency(freqMHz: number): number;
  rx2: { freqMHz: number; dataRate: number };
  /** Downlink TX power, dBm EIRP (within the regional maximum). */
  txPowerDbm: number;
  /** Highest TXPower index a LinkADRReq may ask for (each step is 2 dB below max EIRP). */
  maxTxPowerIndex: number;
}

/**
 * Demodulation floor (required SNR, dB) per datarate index, SF12..SF7 at 125 kHz, as ChirpStack's
 * `get_required_snr_for_sf` has it: LinkCheckAns margins and ADR steps are measured from it.
 */
export const REQUIRED_SNR_DB: readonly number[] = [-20, -17.5, -15, -12.5, -10, -7.5];

const SF_DATA_RATES = ['SF12BW125', 'SF11BW125', 'SF10BW125', 'SF9BW125', 'SF8BW125', 'SF7BW125'] as const;

/** Rounds MHz to 100 Hz so floating-point sums stay exact channel frequencies. */
const mhz = (v: number) => Math.round(v * 10_000) / 10_000;

export const REGIONS: Record<RegionName, Region> = {
  // RP002 §2.4 EU863-870: RX1 on the uplink channel; RX2 869.525 MHz DR0.
  EU868: {
    name: 'EU868',
    dataRates: SF_DATA_RATES,
    rx1Frequency: (f) => f,
    rx2: { freqMHz: 869.525, dataRate: 0 },
    txPowerDbm: 14,
    maxTxPowerIndex: 7,
  },
  // RP002 §2.7 CN470-510: 96 uplink channels 470.3 + 0.2·n MHz; RX1 on downlink channel
  // n mod 48 at 500.3 + 0.2·(n mod 48) MHz; RX2 505.3 MHz DR0.
  CN470: {
    name: 'CN470',
    dataRates: SF_DATA_RATES,
    rx1Frequency: (f) => {
      const n = Math.round((f - 470.3) / 0.2);
      return mhz(500.3 + 0.2 * (((n % 48) + 48) % 48));
    },
    rx2: { freqMHz: 505.3, dataRate: 0 },
    txPowerDbm: 17,
    maxTxPowerIndex: 7,
  },
};

/** Datarate index of a datarate identifier, or undefined when the region does not define it. */
export function dataRateIndex(region: Region, datr: string): number | undefined {
  const i = region.dataRates.indexOf(datr);
  return i < 0 ? undefined : i;
}

/** RX1 datarate: uplink DR minus RX1DROffset, not below DR0 (RP002 RX1DROffset tables). */
export function rx1DataRate(region: Region, uplinkDr: number, rx1DrOffset: number): number {
  return Math.min(region.dataRates.length - 1, Math.max(0, uplinkDr - rx1DrOffset));
}
