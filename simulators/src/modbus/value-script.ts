import type { Profile } from '@village/device-drivers/modbus';
import type { SimSlave } from './sim-slave.js';

/**
 * Scripts that drive a simulated slave's values over time. `steady` holds typical clean-day
 * values; `pollution-episode` ramps the pollution metrics up to a peak, holds it and lets it
 * decay back, as a burning-season smoke episode or a sewage spill into a pond does.
 */
export type ScriptName = 'steady' | 'pollution-episode';
export const SCRIPT_NAMES: readonly ScriptName[] = ['steady', 'pollution-episode'];

/** Typical clean-day values by metric name. Metrics not named here hold 0 (or false). */
const BASELINE: Record<string, number | boolean> = {
  pm2_5: 28,
  pm10: 52,
  humidity: 61.5,
  temperature: 18.4,
  uptime: 1200,
  ph: 7.2,
  dissolved_oxygen: 7.8,
  turbidity: 4.5,
  conductivity: 420,
  water_temperature: 16.5,
  nh3_n: 0.25,
  cod: 12,
  probe_status: 0,
  wind_speed: 2.35,
  wind_direction: 135,
  air_temperature: 18.4,
  air_humidity: 61.5,
  air_pressure: 1012.25,
  rainfall: 0,
  solar_radiation: 420.5,
  illuminance: 35_000,
  cabinet_door: false,
  mains_power: true,
};

/** Peak values of a pollution episode; metrics not named here keep their baseline. */
const EPISODE_PEAK: Record<string, number> = {
  pm2_5: 285,
  pm10: 430,
  turbidity: 85,
  dissolved_oxygen: 2.1,
  conductivity: 1450,
  nh3_n: 4.5,
  cod: 65,
};

export interface ScriptOptions {
  /** Length of the pollution episode, ms (ramp up over the first quarter, down over the last). */
  episodeMs?: number;
}

/** Values of every scripted point of a profile, `elapsedMs` after the script started. */
export function scriptValues(
  name: ScriptName,
  profile: Profile,
  elapsedMs: number,
  options: ScriptOptions = {},
): Record<string, number | boolean> {
  const episodeMs = options.episodeMs ?? 10 * 60_000;
  const x = Math.max(0, Math.min(1, elapsedMs / episodeMs));
  const level = name === 'steady' ? 0 : x < 0.25 ? x / 0.25 : x <= 0.75 ? 1 : Math.max(0, (1 - x) / 0.25);
  const out: Record<string, number | boolean> = {};
  for (const p of profile.points) {
    if (p.writable) continue; // set by commands, not by the script
    const metric = p.metric ?? p.name;
    const base = BASELINE[metric] ?? (p.type === 'bit' ? false : 0);
    const peak = EPISODE_PEAK[metric];
    out[p.name] = typeof base === 'number' && peak !== undefined ? round(base + (peak - base) * level) : base;
  }
  return out;
}

/** Applies a script to a slave every `tickMs` ms until the returned stop() is called. */
export function driveSlave(
  slave: SimSlave,
  name: ScriptName,
  options: ScriptOptions & { tickMs?: number } = {},
): () => void {
  const started = Date.now();
  const apply = () => {
    for (const [point, value] of Object.entries(
      scriptValues(name, slave.image.profile, Date.now() - started, options),
    )) {
      slave.image.set(point, value);
    }
  };
  apply();
  const timer = setInterval(apply, options.tickMs ?? 1000);
  return () => clearInterval(timer);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
