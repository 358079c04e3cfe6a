import type { DeviceEvent, EventData, Reading } from '@village/protocol';

/**
 * The elder-care wristband's decoded model, shared by every transport that carries it
 * (LoRaWAN here, NB-IoT/CoAP elsewhere): whatever the bytes on the air, a decoder produces a
 * `WristbandData` and this module turns it into Readings and DeviceEvents, so the cloud sees
 * the same metrics, units and events whichever way the wristband reached the edge.
 *
 * Absent fields are simply not reported (a wristband that could not measure SpO2 sends none,
 * rather than a misleading 0).
 */
export interface WristbandData {
  /** Beats per minute. */
  heart_rate?: number;
  /** Blood oxygen saturation, percent. */
  spo2?: number;
  /** Steps counted since local midnight. */
  steps?: number;
  /** Battery charge, percent. */
  battery?: number;
  /** True while the band is on the wrist (skin contact sensor). */
  worn?: boolean;
  /** A fall was detected since the last uplink. */
  fall?: boolean;
  /** The SOS button was pressed since the last uplink. */
  sos?: boolean;
  /** WGS-84 position, degrees; present only when the band had a GPS fix. */
  lat?: number;
  lon?: number;
}

/** Metric name → unit, in the order readings are produced. */
export const WRISTBAND_METRICS: readonly { name: keyof WristbandData; unit: string }[] = [
  { name: 'heart_rate', unit: 'bpm' },
  { name: 'spo2', unit: '%' },
  { name: 'steps', unit: 'count' },
  { name: 'battery', unit: '%' },
  { name: 'worn', unit: '' },
  { name: 'lat', unit: 'deg' },
  { name: 'lon', unit: 'deg' },
];

/** Event types a wristband raises; both are alarms for the elder-care rules. */
export const WRISTBAND_EVENT_TYPES = ['fall', 'sos'] as const;

export interface WristbandTelemetry {
  readings: Reading[];
  events: DeviceEvent[];
}

/**
 * Maps one decoded wristband uplink to Readings (metrics above) and `fall` / `sos` events of
 * severity critical. Event data carries the position when the uplink had one, so a responder
 * knows where to go without joining readings and events.
 */
export function wristbandToTelemetry(data: WristbandData, device: string, ts: number): WristbandTelemetry {
  const readings: Reading[] = [];
  for (const { name, unit } of WRISTBAND_METRICS) {
    const value = data[name];
    if (value === undefined) continue;
    readings.push({ device, metric: name, value, unit, ts, quality: 'good' });
  }
  const position: EventData = {};
  if (data.lat !== undefined && data.lon !== undefined) {
    position.lat = data.lat;
    position.lon = data.lon;
  }
  const events: DeviceEvent[] = [];
  for (const type of WRISTBAND_EVENT_TYPES) {
    if (data[type] === true) events.push({ device, type, severity: 'critical', ts, data: { ...position } });
  }
  return { readings, events };
}
