import type { nbWaterMeter } from '@village/device-drivers/codecs';
import { type NbiotDeviceOptions, type UplinkAnswer, createNbiotDevice } from './nbiot-device.js';

type WaterMeterData = nbWaterMeter.WaterMeterData;

/**
 * A simulated NB-IoT water meter: it integrates the water drawn through it into its register
 * (litre resolution, as the payload carries), raises the leak flag when flow has not stopped for
 * `leakWindowMs` (how real meters detect a dripping tap or a burst pipe: no zero-flow interval),
 * obeys valve commands from the edge (a closed valve lets nothing through), and reports over
 * CoAP with the documented envelope through createNbiotDevice.
 */
export interface WaterMeterOptions extends Omit<NbiotDeviceOptions<'water-meter'>, 'codec' | 'onCommand'> {
  /** Register reading at installation, m³. */
  volumeM3?: number;
  battery?: number;
  /** Meters without a motorised valve report none and refuse valve commands. */
  hasValve?: boolean;
  /** Continuous flow for this long sets the leak flag (default 1 h). */
  leakWindowMs?: number;
}

export interface WaterMeter {
  /** Water drawn at `flowM3h` for `ms` of simulated time (nothing passes a closed valve). */
  draw(flowM3h: number, ms: number): void;
  /** Water pushed backwards through the meter (reverse flow alarm until the next forward draw). */
  reverse(): void;
  /** A magnet held to the meter or its case opened. */
  tamper(on: boolean): void;
  setBattery(percent: number): void;
  /** What the next report will say. */
  state(): WaterMeterData;
  /** Report interval the edge last set, minutes. */
  intervalMinutes(): number;
  report(): Promise<UplinkAnswer>;
}

/** Below this battery level the meter sets its low-battery flag, %. */
const LOW_BATTERY_PERCENT = 10;

export function createWaterMeter(opts: WaterMeterOptions): WaterMeter {
  const leakWindowMs = opts.leakWindowMs ?? 3_600_000;
  let litres = Math.round((opts.volumeM3 ?? 0) * 1000);
  let carry = 0; // fraction of a litre not yet on the register
  let battery = opts.battery ?? 100;
  let valve: WaterMeterData['valve'] = opts.hasValve === false ? undefined : 'open';
  let flow = 0;
  let flowingForMs = 0;
  let reverseFlow = false;
  let tampered = false;
  let interval = 60;

  const device = createNbiotDevice({
    ...opts,
    codec: 'water-meter',
    onCommand(cmd) {
      if (cmd.action === 'set_interval') {
        interval = cmd.params.minutes!;
        return undefined;
      }
      if (cmd.action === 'valve_open' || cmd.action === 'valve_close') {
        if (valve === undefined) return 'no valve fitted';
        valve = cmd.action === 'valve_open' ? 'open' : 'closed';
        if (valve === 'closed') flow = 0;
        return undefined;
      }
      return `unknown action ${cmd.action}`;
    },
  });

  const state = (): WaterMeterData => ({
    volume_m3: litres / 1000,
    flow_m3h: flow,
    ...(valve === undefined ? {} : { valve }),
    battery,
    leak: flowingForMs >= leakWindowMs,
    reverse_flow: reverseFlow,
    tamper: tampered,
    low_battery: battery < LOW_BATTERY_PERCENT,
  });

  return {
    draw(flowM3h, ms) {
      flow = valve === 'closed' ? 0 : flowM3h;
      const l = (flow * 1000 * ms) / 3_600_000 + carry;
      litres += Math.floor(l);
      carry = l - Math.floor(l);
      flowingForMs = flow > 0 ? flowingForMs + ms : 0;
      if (flow > 0) reverseFlow = false;
    },
    reverse() {
      reverseFlow = true;
    },
    tamper(on) {
      tampered = on;
    },
    setBattery(percent) {
      battery = percent;
    },
    state,
    intervalMinutes: () => interval,
    report: () => device.report(state()),
  };
}
