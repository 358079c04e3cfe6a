import type { DeviceEvent, EventData, Reading, Severity, Value } from '@village/protocol';
import type { DeviceCodec } from '../codecs/codec.js';
import * as smoke from '../codecs/nb-smoke-detector.js';
import * as waterMeter from '../codecs/nb-water-meter.js';
import * as wellCover from '../codecs/nb-well-cover.js';
import * as wristband from '../codecs/nb-wristband.js';
import { WRISTBAND_METRICS, wristbandToTelemetry } from '../codecs/wristband-model.js';
import type { NbiotCodecName } from './config.js';

/**
 * What each NB-IoT codec's decoded data means as readings and events. Alarms that are states
 * (smoke, cover open) are reported on the rising edge only; momentary flags (fall, SOS) every
 * time the device sets them.
 */
export interface MetricValue {
  metric: string;
  value: Value;
  unit: string;
}

export interface EventDraft {
  type: string;
  severity: Severity;
  data: EventData;
}

/** The codec half is the one codec contract (codecs/codec.ts `DeviceCodec`), as LoRaWAN's codecs meet it. */
export interface DeviceModel extends Pick<DeviceCodec, 'decodeUplink' | 'encodeDownlink'> {
  metrics: { name: string; unit: string }[];
  /** `active` holds the alarm states seen last time (per device); the model updates it. */
  toTelemetry(
    data: unknown,
    device: string,
    ts: number,
    active: Set<string>,
  ): { readings: Reading[]; events: DeviceEvent[] };
}

/** Adds device, time and quality to a model's values and event drafts. */
function stamp(device: string, ts: number, values: MetricValue[], drafts: EventDraft[]) {
  return {
    readings: values.map((v): Reading => ({ device, ...v, ts, quality: 'good' })),
    events: drafts.map((e): DeviceEvent => ({ device, ...e, ts })),
  };
}

function rising(active: Set<string>, key: string, on: boolean): boolean {
  const was = active.has(key);
  if (on) active.add(key);
  else active.delete(key);
  return on && !was;
}

const smokeModel: DeviceModel = {
  decodeUplink: smoke.decodeUplink,
  encodeDownlink: smoke.encodeDownlink,
  metrics: [
    { name: 'smoke_density', unit: 'dB/m' },
    { name: 'temperature', unit: '°C' },
    { name: 'battery', unit: '%' },
  ],
  toTelemetry(raw, device, ts, active) {
    const d = raw as smoke.SmokeDetectorData;
    const events: EventDraft[] = [];
    if (rising(active, 'smoke', d.alarm && !d.self_test)) {
      events.push({
        type: 'smoke',
        severity: 'critical',
        data: { smoke_density: d.smoke_density, temperature: d.temperature },
      });
    }
    if (rising(active, 'fault', d.fault))
      events.push({ type: 'sensor_fault', severity: 'warning', data: {} });
    const values: MetricValue[] = [
      { metric: 'smoke_density', value: d.smoke_density, unit: 'dB/m' },
      { metric: 'temperature', value: d.temperature, unit: '°C' },
      { metric: 'battery', value: d.battery, unit: '%' },
    ];
    return stamp(device, ts, values, events);
  },
};

/** Tilt at or beyond which an open cover is critical (a displaced lid is a fall hazard), degrees. */
const CRITICAL_TILT_DEG = 45;

const wellCoverModel: DeviceModel = {
  decodeUplink: wellCover.decodeUplink,
  encodeDownlink: wellCover.encodeDownlink,
  metrics: [
    { name: 'tilt_deg', unit: 'deg' },
    { name: 'open', unit: '' },
    { name: 'water_level_cm', unit: 'cm' },
    { name: 'battery', unit: '%' },
  ],
  toTelemetry(raw, device, ts, active) {
    const d = raw as wellCover.WellCoverData;
    const readings: MetricValue[] = [
      { metric: 'tilt_deg', value: d.tilt_deg, unit: 'deg' },
      { metric: 'open', value: d.open, unit: '' },
      { metric: 'battery', value: d.battery, unit: '%' },
    ];
    if (d.water_level_cm !== undefined)
      readings.push({ metric: 'water_level_cm', value: d.water_level_cm, unit: 'cm' });
    const events: EventDraft[] = [];
    if (rising(active, 'open', d.open)) {
      const critical = d.water_alarm || Math.abs(d.tilt_deg) >= CRITICAL_TILT_DEG;
      events.push({
        type: 'well_cover_open',
        severity: critical ? 'critical' : 'warning',
        data: { tilt_deg: d.tilt_deg, water_level_cm: d.water_level_cm ?? null },
      });
    }
    return stamp(device, ts, readings, events);
  },
};

const wristbandModel: DeviceModel = {
  decodeUplink: wristband.decodeUplink,
  encodeDownlink: wristband.encodeDownlink,
  metrics: WRISTBAND_METRICS.map((m) => ({ name: m.name, unit: m.unit })),
  // The shared wristband model (codecs/wristband-model.ts), the same as the LoRaWAN wristband's.
  toTelemetry: (raw, device, ts) => wristbandToTelemetry(raw as wristband.WristbandData, device, ts),
};

/**
 * Water-meter alarms, each a state reported on its rising edge: a leak or reverse flow wastes
 * the village's water (warning); tamper is meter fraud or vandalism (critical); a low battery
 * needs a visit before the meter goes silent (info).
 */
const WATER_ALARMS = [
  { flag: 'leak', type: 'water_leak', severity: 'warning' },
  { flag: 'reverse_flow', type: 'reverse_flow', severity: 'warning' },
  { flag: 'tamper', type: 'meter_tamper', severity: 'critical' },
  { flag: 'low_battery', type: 'low_battery', severity: 'info' },
] as const;

const waterMeterModel: DeviceModel = {
  decodeUplink: waterMeter.decodeUplink,
  encodeDownlink: waterMeter.encodeDownlink,
  metrics: [
    { name: 'volume_m3', unit: 'm³' },
    { name: 'flow_m3h', unit: 'm³/h' },
    { name: 'valve', unit: '' },
    { name: 'battery', unit: '%' },
  ],
  toTelemetry(raw, device, ts, active) {
    const d = raw as waterMeter.WaterMeterData;
    const values: MetricValue[] = [{ metric: 'volume_m3', value: d.volume_m3, unit: 'm³' }];
    if (d.flow_m3h !== undefined) values.push({ metric: 'flow_m3h', value: d.flow_m3h, unit: 'm³/h' });
    if (d.valve !== undefined) values.push({ metric: 'valve', value: d.valve, unit: '' });
    values.push({ metric: 'battery', value: d.battery, unit: '%' });
    const events: EventDraft[] = [];
    for (const a of WATER_ALARMS) {
      if (rising(active, a.flag, d[a.flag])) {
        events.push({
          type: a.type,
          severity: a.severity,
          data: { volume_m3: d.volume_m3, flow_m3h: d.flow_m3h ?? null },
        });
      }
    }
    if (rising(active, 'valve_fault', d.valve === 'fault'))
      events.push({ type: 'valve_fault', severity: 'warning', data: {} });
    return stamp(device, ts, values, events);
  },
};

export const DEVICE_MODELS: Record<NbiotCodecName, DeviceModel> = {
  'smoke-detector': smokeModel,
  'well-cover': wellCoverModel,
  wristband: wristbandModel,
  'water-meter': waterMeterModel,
};
