import type { Reading } from '@village/protocol';
import { type DataFlag, type QcReason, flagOf } from './data-flag.js';
import { type FlatRun, type FlatlineLimit, advanceFlatline } from './flatline-check.js';
import { checkHumidity } from './humidity-check.js';
import { type OperatorWindow, checkWindows } from './operator-windows.js';
import { checkPmPair } from './pm-pair-check.js';
import { type PhysicalRange, checkRange } from './range-check.js';
import { type SpikeLimit, type TimedValue, checkSpike } from './spike-check.js';
import { type StatusWordRule, checkStatusWord } from './status-check.js';

/** Checks of one metric in a device profile. */
export interface QcMetricRule {
  ranges?: readonly PhysicalRange[];
  spike?: SpikeLimit;
  flatline?: FlatlineLimit;
}

/** Quality control of one device profile (pm25-sensor, water-probe, ...). */
export interface QcProfile {
  metrics: Readonly<Record<string, QcMetricRule>>;
  /** For an optical PM sensor: its humidity metric and the limit above which PM is suspect. */
  opticalPm?: { humidityMetric: string; maxHumidity: number; pmMetrics: readonly string[]; maxAgeMs: number };
  status?: StatusWordRule;
}

export interface QcConfig {
  profiles: Readonly<Record<string, QcProfile>>;
  /** Each device's profile and station. A device not listed gets only the operator windows and its own quality mark. */
  devices: Readonly<Record<string, { profile: string; station?: string }>>;
  /** PM2.5 ≤ PM10 at one station, for readings within `withinMs` of each other. */
  pmPair?: {
    pm25Metrics: readonly string[];
    pm10Metrics: readonly string[];
    tolerance: number;
    withinMs: number;
  };
}

/** Plain JSON, so a runtime can persist it with the rest of the rules state. */
export interface QcState {
  /** Per `device|metric`: the last value that passed, and the current run of identical values. */
  series: Record<string, { good?: TimedValue; run?: FlatRun }>;
  /** Per device: its latest status word and humidity. */
  devices: Record<string, { status?: TimedValue; humidity?: TimedValue }>;
  /** Per station: its latest PM2.5 and PM10. */
  stations: Record<string, { pm25?: TimedValue; pm10?: TimedValue }>;
}

export interface QcResult {
  reading: Reading;
  flag: DataFlag;
  reasons: QcReason[];
}

export function createQcState(): QcState {
  return { series: {}, devices: {}, stations: {} };
}

function newer(prev: TimedValue | undefined, cur: TimedValue): TimedValue {
  return prev && prev.ts > cur.ts ? prev : cur;
}

function near(a: TimedValue | undefined, ts: number, withinMs: number): a is TimedValue {
  return a !== undefined && Math.abs(a.ts - ts) <= withinMs;
}

/**
 * Flag each reading of a group (one batch, or one station's snapshot) with an HJ 212-style data
 * flag and the reasons behind it. Pure apart from updating `state` in place; never throws on
 * data. Status words, humidity and PM of the group are taken in first, so a status and the
 * readings it voids may arrive together. Only readings flagged `N` feed the spike and flatline
 * history's "last good" value.
 */
export function qualityControl(
  config: QcConfig,
  state: QcState,
  readings: readonly Reading[],
  windows: readonly OperatorWindow[] = [],
): QcResult[] {
  const pair = config.pmPair;
  const stationOf = (device: string) => config.devices[device]?.station ?? device;
  for (const r of readings) {
    if (typeof r.value !== 'number' || !Number.isFinite(r.value) || r.quality === 'bad') continue;
    const tv = { value: r.value, ts: r.ts };
    const profile = profileOf(config, r.device);
    const dev = state.devices[r.device] ?? {};
    state.devices[r.device] = dev;
    if (profile?.status?.metric === r.metric) dev.status = newer(dev.status, tv);
    if (profile?.opticalPm?.humidityMetric === r.metric) dev.humidity = newer(dev.humidity, tv);
    if (pair) {
      const st = state.stations[stationOf(r.device)] ?? {};
      state.stations[stationOf(r.device)] = st;
      if (pair.pm25Metrics.includes(r.metric)) st.pm25 = newer(st.pm25, tv);
      if (pair.pm10Metrics.includes(r.metric)) st.pm10 = newer(st.pm10, tv);
    }
  }
  return readings.map((r) => judge(config, state, r, windows, stationOf(r.device)));
}

function profileOf(config: QcConfig, device: string): QcProfile | undefined {
  const d = config.devices[device];
  return d ? config.profiles[d.profile] : undefined;
}

function judge(
  config: QcConfig,
  state: QcState,
  r: Reading,
  windows: readonly OperatorWindow[],
  station: string,
): QcResult {
  const reasons = checkWindows(windows, r, station);
  let statusFlag: DataFlag | undefined;
  const profile = profileOf(config, r.device);
  const dev = state.devices[r.device];
  if (r.quality === 'bad') reasons.push({ code: 'device_marked_bad', detail: 'the device marked it bad' });
  if (r.quality === 'suspect')
    reasons.push({ code: 'device_marked_suspect', detail: 'the device marked it suspect' });
  if (profile?.status && near(dev?.status, r.ts, profile.status.maxAgeMs)) {
    const s = checkStatusWord(dev.status.value, profile.status);
    if (s) {
      reasons.push(s.reason);
      statusFlag = s.flag;
    }
  }
  if (typeof r.value !== 'number' || !Number.isFinite(r.value) || !profile) {
    return { reading: r, flag: flagOf(reasons, statusFlag), reasons };
  }
  const value = r.value;
  const rule = profile.metrics[r.metric];
  if (rule?.ranges) {
    const x = checkRange(value, r.unit, rule.ranges);
    if (x) reasons.push(x);
  }
  const opt = profile.opticalPm;
  if (opt?.pmMetrics.includes(r.metric) && near(dev?.humidity, r.ts, opt.maxAgeMs)) {
    const x = checkHumidity(dev.humidity.value, opt.maxHumidity);
    if (x) reasons.push(x);
  }
  const pair = config.pmPair;
  if (pair) {
    const st = state.stations[station];
    const is25 = pair.pm25Metrics.includes(r.metric);
    const is10 = pair.pm10Metrics.includes(r.metric);
    if (is25 && near(st?.pm10, r.ts, pair.withinMs)) {
      const x = checkPmPair(value, st.pm10.value, pair.tolerance);
      if (x) reasons.push(x);
    } else if (is10 && near(st?.pm25, r.ts, pair.withinMs)) {
      const x = checkPmPair(st.pm25.value, value, pair.tolerance);
      if (x) reasons.push(x);
    }
  }
  const key = `${r.device}|${r.metric}`;
  const series = state.series[key] ?? {};
  state.series[key] = series;
  const tv = { value, ts: r.ts };
  if (rule?.spike) {
    const x = checkSpike(tv, series.good, rule.spike);
    if (x) reasons.push(x);
  }
  if (rule?.flatline) {
    const { run, reason } = advanceFlatline(series.run, tv, rule.flatline);
    series.run = run;
    if (reason) reasons.push(reason);
  }
  const flag = flagOf(reasons, statusFlag);
  if (flag === 'N' && (!series.good || series.good.ts <= r.ts)) series.good = tv;
  return { reading: r, flag, reasons };
}
