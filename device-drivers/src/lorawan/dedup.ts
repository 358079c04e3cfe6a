/** One gateway's reception of a frame. */
export interface Reception {
  gatewayEui: string;
  /** Gateway concentrator counter at end of reception, µs. */
  tmst: number;
  freqMHz: number;
  datr: string;
  /** dBm. */
  rssi: number;
  /** dB. */
  snr: number;
  /** Local monotonic time the PUSH_DATA arrived, ms (performance.now()). */
  heardAt: number;
}

/**
 * Collects copies of one PHYPayload heard by several gateways: the first copy opens a window of
 * `windowMs`; copies arriving within it are added (one per gateway); when it closes, `onFrame`
 * gets the frame once with every reception. A copy arriving after the window opens a new one,
 * which the frame-counter check then refuses as a replay.
 */
export interface Deduplicator {
  add(phyPayload: Buffer, reception: Reception): 'opened' | 'merged' | 'overflow';
  /** Frames waiting for their window to close. */
  pending(): number;
  close(): void;
}

export function createDeduplicator(
  windowMs: number,
  maxPending: number,
  onFrame: (phyPayload: Buffer, receptions: Reception[]) => void,
): Deduplicator {
  const open = new Map<string, { phy: Buffer; receptions: Reception[]; timer: NodeJS.Timeout }>();
  return {
    add(phy, reception) {
      const key = phy.toString('base64');
      const entry = open.get(key);
      if (entry !== undefined) {
        // A gateway that reports the same frame twice (e.g. two antennas) counts once.
        if (!entry.receptions.some((r) => r.gatewayEui === reception.gatewayEui))
          entry.receptions.push(reception);
        return 'merged';
      }
      if (open.size >= maxPending) return 'overflow';
      const receptions = [reception];
      const timer = setTimeout(() => {
        open.delete(key);
        onFrame(phy, receptions);
      }, windowMs);
      open.set(key, { phy, receptions, timer });
      return 'opened';
    },
    pending: () => open.size,
    close() {
      for (const e of open.values()) clearTimeout(e.timer);
      open.clear();
    },
  };
}
