/**
 * The air between simulated end devices and gateways. A device's transmission reaches each
 * gateway unless lost (independently, with probability `lossRate`); a gateway's transmission
 * reaches every device, which decides by address/keys whether it is for it.
 */
export interface Uplinkable {
  readonly eui: string;
  /** Receives a frame; returns the gateway's concentrator timestamp (µs) of the end of reception. */
  hear(phy: Buffer, radio: { freqMHz: number; datr: string; rssi: number; snr: number }): number;
}

export interface DownlinkListener {
  onDownlink(dl: { gatewayEui: string; tmst: number; freqMHz: number; datr: string; phy: Buffer }): void;
}

export interface RadioMedium {
  addGateway(g: Uplinkable, link?: { rssi: number; snr: number }): void;
  addDevice(d: DownlinkListener): void;
  removeDevice(d: DownlinkListener): void;
  /** Sends a frame; returns gateway EUI → its reception tmst, for the gateways that heard it. */
  transmit(phy: Buffer, radio: { freqMHz: number; datr: string }): Map<string, number>;
  downlink(dl: Parameters<DownlinkListener['onDownlink']>[0]): void;
  setLossRate(rate: number): void;
  /** The next `n` gateway transmissions are lost on the air (a downlink the device never hears). */
  loseNextDownlinks(n: number): void;
  /** Gateway transmissions lost so far by `loseNextDownlinks`. */
  downlinksLost(): number;
}

export function createRadioMedium(options: { lossRate?: number; random?: () => number } = {}): RadioMedium {
  let lossRate = options.lossRate ?? 0;
  const random = options.random ?? Math.random;
  const gateways: { g: Uplinkable; link: { rssi: number; snr: number } }[] = [];
  const devices = new Set<DownlinkListener>();
  let toLose = 0;
  let lost = 0;
  return {
    addGateway(g, link) {
      // Each gateway gets a distinct link budget so "best gateway" choices are observable.
      gateways.push({ g, link: link ?? { rssi: -60 - gateways.length * 15, snr: 9 - gateways.length * 4 } });
    },
    addDevice: (d) => devices.add(d),
    removeDevice: (d) => devices.delete(d),
    transmit(phy, radio) {
      const heard = new Map<string, number>();
      for (const { g, link } of gateways) {
        if (random() < lossRate) continue;
        heard.set(g.eui, g.hear(phy, { ...radio, ...link }));
      }
      return heard;
    },
    downlink(dl) {
      if (toLose > 0) {
        toLose--;
        lost++;
        return;
      }
      for (const d of devices) d.onDownlink(dl);
    },
    loseNextDownlinks(n) {
      toLose = n;
    },
    downlinksLost: () => lost,
    setLossRate(rate) {
      lossRate = rate;
    },
  };
}
