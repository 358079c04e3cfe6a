import type { LorawanCodecName } from '@village/device-drivers/codecs';
import { type EndDeviceConfig, type EndDeviceSim, createEndDevice } from './end-device-sim.js';
import { type GatewaySim, startGatewaySim } from './gateway-sim.js';
import { type RadioMedium, createRadioMedium } from './radio-medium.js';
import { samplePayload } from './sample-payloads.js';

export interface LorawanSimulationOptions {
  /** The network server (edge driver) address. */
  serverHost?: string;
  serverPort: number;
  /** One simulated gateway per EUI; every gateway hears every device (unless lost). */
  gatewayEuis: string[];
  devices: (EndDeviceConfig & { codec: LorawanCodecName })[];
  /** Probability that one gateway misses one uplink, 0..1. */
  lossRate?: number;
  /** PULL_DATA period, ms. */
  keepaliveMs?: number;
  /** Gateways transmit downlinks immediately instead of at the requested `tmst`. */
  ignoreTxTiming?: boolean;
}

export interface LorawanSimulation {
  radio: RadioMedium;
  gateways: GatewaySim[];
  devices: Map<string, EndDeviceSim>;
  /** Sends one uplink with a sample payload from the device's codec. */
  sendSample(deviceId: string, opts?: { confirmed?: boolean }): { phy: Buffer; heardBy: string[] };
  stop(): Promise<void>;
}

export async function startLorawanSimulation(opts: LorawanSimulationOptions): Promise<LorawanSimulation> {
  const radio = createRadioMedium({ lossRate: opts.lossRate });
  const gateways: GatewaySim[] = [];
  for (const eui of opts.gatewayEuis) {
    gateways.push(
      await startGatewaySim({
        eui,
        serverHost: opts.serverHost ?? '127.0.0.1',
        serverPort: opts.serverPort,
        radio,
        keepaliveMs: opts.keepaliveMs,
        ignoreTxTiming: opts.ignoreTxTiming,
      }),
    );
  }
  const devices = new Map<string, EndDeviceSim>();
  const codecs = new Map<string, LorawanCodecName>();
  for (const d of opts.devices) {
    devices.set(d.id, createEndDevice(d, radio));
    codecs.set(d.id, d.codec);
  }
  const seqs = new Map<string, number>();
  return {
    radio,
    gateways,
    devices,
    sendSample(deviceId, o = {}) {
      const device = devices.get(deviceId);
      if (device === undefined) throw new Error(`no simulated device ${deviceId}`);
      const seq = (seqs.get(deviceId) ?? 0) + 1;
      seqs.set(deviceId, seq);
      return device.uplink({ ...samplePayload(codecs.get(deviceId)!, seq), confirmed: o.confirmed });
    },
    async stop() {
      for (const d of devices.values()) d.stop();
      await Promise.all(gateways.map((g) => g.stop()));
    },
  };
}
