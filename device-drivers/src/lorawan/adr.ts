/**
 * ChirpStack's default ADR algorithm (chirpstack/src/adr/default.rs), for LoRa 125 kHz data
 * rates: from the best SNR of the recent uplinks, the margin over the data rate's demodulation
 * floor and an installation margin gives a number of 3 dB steps; positive steps raise the data
 * rate, then lower the TX power; negative steps raise the power, but only once a full history
 * at the current power exists (to avoid up/down flapping). NbTrans follows the packet loss.
 */
export interface AdrHistoryEntry {
  fCnt: number;
  /** Best SNR over the gateways that heard this uplink, dB. */
  maxSnr: number;
  txPowerIndex: number;
}

export interface AdrRequest {
  dr: number;
  txPowerIndex: number;
  nbTrans: number;
  maxDr: number;
  maxTxPowerIndex: number;
  /** Demodulation floor of the current data rate, dB. */
  requiredSnr: number;
  installationMargin: number;
  history: readonly AdrHistoryEntry[];
}

export interface AdrResult {
  dr: number;
  txPowerIndex: number;
  nbTrans: number;
}

/** Uplinks ChirpStack's default algorithm looks back over. */
export const ADR_HISTORY = 20;
/** ChirpStack's default installation margin, dB. */
export const INSTALLATION_MARGIN_DB = 10;

export function defaultAdr(req: AdrRequest): AdrResult {
  const nbTrans = nbTransFor(req.nbTrans, packetLossPercent(req.history));
  const maxSnr = Math.max(-999, ...req.history.map((h) => h.maxSnr));
  const margin = maxSnr - req.requiredSnr - req.installationMargin;
  let steps = Math.trunc(margin / 3);
  const atThisPower = req.history.filter((h) => h.txPowerIndex === req.txPowerIndex).length;
  if (steps < 0 && atThisPower !== ADR_HISTORY)
    return { dr: req.dr, txPowerIndex: req.txPowerIndex, nbTrans };
  let { dr, txPowerIndex } = req;
  while (steps > 0) {
    if (dr < req.maxDr) dr++;
    else if (txPowerIndex < req.maxTxPowerIndex) txPowerIndex++;
    steps--;
  }
  while (steps < 0) {
    if (txPowerIndex > 0) txPowerIndex--;
    steps++;
  }
  return { dr, txPowerIndex, nbTrans };
}

function packetLossPercent(history: readonly AdrHistoryEntry[]): number {
  if (history.length < ADR_HISTORY) return 0;
  let lost = 0;
  for (let i = 1; i < history.length; i++) lost += history[i]!.fCnt - history[i - 1]!.fCnt - 1;
  return (lost / history.length) * 100;
}

const LOSS_TABLE = [
  [1, 1, 2],
  [1, 2, 3],
  [2, 3, 3],
  [3, 3, 3],
] as const;

function nbTransFor(current: number, lossPercent: number): number {
  const i = Math.min(3, Math.max(1, current)) - 1;
  const row = lossPercent < 5 ? 0 : lossPercent < 10 ? 1 : lossPercent < 30 ? 2 : 3;
  return LOSS_TABLE[row]![i]!;
}
