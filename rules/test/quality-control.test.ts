import type { Reading } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import {
  type DataFlag,
  type OperatorWindow,
  type QcConfig,
  type QcReasonCode,
  createQcState,
  qualityControl,
} from '../src/index.js';

const T0 = Date.parse('2026-06-01T08:00:00+08:00');
const MIN = 60_000;

const CONFIG: QcConfig = {
  profiles: {
    'pm25-sensor': {
      metrics: {
        pm2_5: {
          ranges: [{ unit: 'µg/m³', min: 0, max: 1000 }],
          spike: { delta: 100, withinMs: 10 * MIN },
          flatline: { count: 6, minMs: 25 * MIN },
        },
        pm10: { ranges: [{ unit: 'µg/m³', min: 0, max: 2000 }] },
        humidity: { ranges: [{ unit: '%RH', min: 0, max: 100 }] },
        temperature: { ranges: [{ unit: '°C', min: -40, max: 60 }] },
      },
      opticalPm: {
        humidityMetric: 'humidity',
        maxHumidity: 95,
        pmMetrics: ['pm2_5', 'pm10'],
        maxAgeMs: 10 * MIN,
      },
    },
    gas: { metrics: { co: { ranges: [{ unit: 'mg/m³', min: 0, max: 50 }] } } },
    'water-probe': {
      metrics: { ph: { ranges: [{ unit: 'pH', min: 0, max: 14 }] } },
      status: {
        metric: 'probe_status',
        okValues: [0],
        maintenanceValues: [1],
        calibrationValues: [2],
        maxAgeMs: 10 * MIN,
      },
    },
  },
  devices: {
    'pm-1': { profile: 'pm25-sensor', station: 's1' },
    'pm-2': { profile: 'pm25-sensor', station: 's1' },
    'pm-3': { profile: 'pm25-sensor', station: 's2' },
    'co-1': { profile: 'gas', station: 's1' },
    'wp-1': { profile: 'water-probe', station: 'pond' },
  },
  pmPair: { pm25Metrics: ['pm2_5'], pm10Metrics: ['pm10'], tolerance: 2, withinMs: MIN },
};

const UNITS: Record<string, string> = {
  pm2_5: 'µg/m³',
  pm10: 'µg/m³',
  humidity: '%RH',
  temperature: '°C',
  co: 'mg/m³',
  ph: 'pH',
  probe_status: '',
};

type R = [device: string, metric: string, value: Reading['value'], minute: number, extra?: Partial<Reading>];
type Expect = [DataFlag, ...QcReasonCode[]];

function reading([device, metric, value, minute, extra]: R): Reading {
  return {
    device,
    metric,
    value,
    unit: UNITS[metric] ?? '',
    ts: T0 + minute * MIN,
    quality: 'good',
    ...extra,
  };
}

interface Case {
  name: string;
  windows?: OperatorWindow[];
  /** Groups of readings fed in order (a group is one batch), each with the flag expected per reading. */
  steps: { group: R[]; expect: Expect[] }[];
}

const one = (r: R, e: Expect) => ({ group: [r], expect: [e] });

const CASES: Case[] = [
  {
    name: 'physical range: above the range is T (超测上限)',
    steps: [one(['pm-1', 'pm2_5', 1500, 0], ['T', 'above_range']), one(['pm-1', 'pm2_5', 1000, 1], ['N'])],
  },
  {
    name: 'negative concentration is flagged, a negative temperature is fine',
    steps: [
      one(['pm-1', 'pm2_5', -3, 0], ['Q', 'negative']),
      one(['pm-1', 'temperature', -5, 0], ['N']),
      one(['pm-1', 'temperature', -60, 0], ['Q', 'below_range']),
    ],
  },
  {
    name: 'unit: CO in µg/m³ against a mg/m³ range is refused, not read 1000× high',
    steps: [
      one(['co-1', 'co', 1200, 0, { unit: 'µg/m³' }], ['Q', 'unit_unknown']),
      one(['co-1', 'co', 1.2, 1], ['N']),
    ],
  },
  {
    name: 'spike: compared with the last good value; the value after it is not flagged for coming back',
    steps: [
      one(['pm-1', 'pm2_5', 30, 0], ['N']),
      one(['pm-1', 'pm2_5', 35, 5], ['N']),
      one(['pm-1', 'pm2_5', 300, 10], ['Q', 'spike']),
      one(['pm-1', 'pm2_5', 40, 12], ['N']),
      // 11 minutes after the last good value the check starts afresh: a real rise is accepted.
      one(['pm-1', 'pm2_5', 300, 23], ['N']),
    ],
  },
  {
    name: 'flatline: 6 identical values over 25 minutes',
    steps: [
      ...[0, 5, 10, 15, 20].map((m) => one(['pm-1', 'pm2_5', 42, m], ['N'])),
      one(['pm-1', 'pm2_5', 42, 25], ['Q', 'flatline']),
      one(['pm-1', 'pm2_5', 42, 30], ['Q', 'flatline']),
      one(['pm-1', 'pm2_5', 43, 35], ['N']),
    ],
  },
  {
    name: 'flatline needs the time as well as the count',
    steps: [...[0, 1, 2, 3, 4, 5, 6].map((m) => one(['pm-1', 'pm2_5', 42, m], ['N']))],
  },
  {
    name: 'PM2.5 above PM10 at one station flags both; within the tolerance it passes',
    steps: [
      {
        group: [
          ['pm-1', 'pm2_5', 80, 0],
          ['pm-1', 'pm10', 60, 0],
        ],
        expect: [
          ['Q', 'pm25_above_pm10'],
          ['Q', 'pm25_above_pm10'],
        ],
      },
      {
        group: [
          ['pm-1', 'pm2_5', 61, 5],
          ['pm-1', 'pm10', 60, 5],
        ],
        expect: [['N'], ['N']],
      },
    ],
  },
  {
    name: 'PM pair across two devices of one station, not across stations, not when far apart in time',
    steps: [
      one(['pm-2', 'pm10', 50, 0], ['N']),
      one(['pm-1', 'pm2_5', 90, 0.5], ['Q', 'pm25_above_pm10']),
      one(['pm-3', 'pm2_5', 90, 0.5], ['N']),
      one(['pm-1', 'pm2_5', 90, 2], ['N']),
    ],
  },
  {
    name: 'high humidity voids PM from an optical sensor, not its humidity or temperature',
    steps: [
      {
        group: [
          ['pm-1', 'humidity', 97, 0],
          ['pm-1', 'pm2_5', 50, 0],
          ['pm-1', 'temperature', 20, 0],
        ],
        expect: [['N'], ['Q', 'high_humidity'], ['N']],
      },
      {
        group: [
          ['pm-1', 'humidity', 80, 5],
          ['pm-1', 'pm2_5', 51, 5],
        ],
        expect: [['N'], ['N']],
      },
    ],
  },
  {
    name: 'status word: fault D, maintenance M, calibration C, 0 normal',
    steps: [
      {
        group: [
          ['wp-1', 'probe_status', 4, 0],
          ['wp-1', 'ph', 7.1, 0],
        ],
        expect: [
          ['D', 'device_status'],
          ['D', 'device_status'],
        ],
      },
      {
        group: [
          ['wp-1', 'probe_status', 1, 15],
          ['wp-1', 'ph', 7.1, 15],
        ],
        expect: [
          ['M', 'device_status'],
          ['M', 'device_status'],
        ],
      },
      {
        group: [
          ['wp-1', 'probe_status', 2, 30],
          ['wp-1', 'ph', 7.1, 30],
        ],
        expect: [
          ['C', 'device_status'],
          ['C', 'device_status'],
        ],
      },
      {
        group: [
          ['wp-1', 'probe_status', 0, 45],
          ['wp-1', 'ph', 7.1, 45],
        ],
        expect: [['N'], ['N']],
      },
      // A fault status older than maxAgeMs no longer voids readings.
      one(['wp-1', 'probe_status', 4, 60], ['D', 'device_status']),
      one(['wp-1', 'ph', 7.2, 71], ['N']),
    ],
  },
  {
    name: 'operator windows: device, station, metrics, half-open [from, to)',
    windows: [
      { id: 'w1', kind: 'maintenance', from: T0, to: T0 + 30 * MIN, device: 'pm-1' },
      {
        id: 'w2',
        kind: 'calibration',
        from: T0 + 60 * MIN,
        to: T0 + 90 * MIN,
        station: 's1',
        metrics: ['co'],
      },
    ],
    steps: [
      one(['pm-1', 'pm2_5', 30, 0], ['M', 'maintenance']),
      one(['pm-2', 'pm2_5', 30, 10], ['N']),
      one(['pm-1', 'pm2_5', 30, 30], ['N']),
      one(['co-1', 'co', 1, 60], ['C', 'calibration']),
      one(['pm-1', 'pm2_5', 31, 60], ['N']),
      one(['co-1', 'co', 1, 90], ['N']),
    ],
  },
  {
    name: "the device's own mark: bad is D, suspect is Q",
    steps: [
      one(['pm-1', 'pm2_5', 30, 0, { quality: 'bad' }], ['D', 'device_marked_bad']),
      one(['pm-1', 'pm2_5', 30, 1, { quality: 'suspect' }], ['Q', 'device_marked_suspect']),
    ],
  },
  {
    name: 'precedence: an operator window wins, every reason is kept',
    windows: [{ id: 'w1', kind: 'maintenance', from: T0, to: T0 + MIN, device: 'pm-1' }],
    steps: [one(['pm-1', 'pm2_5', 1500, 0], ['M', 'maintenance', 'above_range'])],
  },
  {
    name: 'no profile, or a value that is not a number: no checks, never throws',
    steps: [one(['other', 'pm2_5', -5, 0], ['N']), one(['wp-1', 'probe_label', 'ok', 0], ['N'])],
  },
];

describe('quality control (one case per rule)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const state = createQcState();
      c.steps.forEach((s, i) => {
        const out = qualityControl(CONFIG, state, s.group.map(reading), c.windows);
        const got = out.map((o) => [o.flag, ...o.reasons.map((r) => r.code)]);
        expect(got, `step ${i}`).toEqual(s.expect);
        for (const o of out) for (const r of o.reasons) expect(r.detail.length).toBeGreaterThan(0);
      });
    });
  }

  it('the state is plain JSON: a restored state goes on exactly as the live one', () => {
    const live = createQcState();
    const feed = (state: ReturnType<typeof createQcState>, m: number) =>
      qualityControl(CONFIG, state, [reading(['pm-1', 'pm2_5', 42, m])])[0]?.flag;
    for (const m of [0, 5, 10, 15, 20]) feed(live, m);
    const restored = JSON.parse(JSON.stringify(live));
    expect(feed(restored, 25)).toBe('Q');
    expect(feed(live, 25)).toBe('Q');
  });

  it('reasons name the value and the limit', () => {
    const [r] = qualityControl(CONFIG, createQcState(), [
      reading(['co-1', 'co', 1200, 0, { unit: 'µg/m³' }]),
    ]);
    expect(r?.reasons[0]?.detail).toMatch(/µg\/m³.*mg\/m³/);
  });
});
