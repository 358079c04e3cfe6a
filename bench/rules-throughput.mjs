// Readings per second through the rules engine with 1,000 devices and every rule enabled:
// 600 wristbands (all elder-care rules, people living alone) and 400 air stations (threshold
// rules with hold and hysteresis, rolling 1/8/24 h means). A runtime-like loop calls tick at
// each nextDeadline. Build first: cd rules && npx tsc -p tsconfig.build.json
// Usage: node bench/rules-throughput.mjs [seconds of simulated traffic per device, default 7200]
import {
  compileRules,
  computeAqi,
  createState,
  nextDeadline,
  serializeState,
  step,
  tick,
} from '../rules/dist/index.js';

const WRISTBANDS = 600;
const STATIONS = 400;
const simulatedSeconds = Number(process.argv[2] ?? 7200);
const T0 = Date.parse('2026-05-01T08:00:00+08:00');

const people = [];
for (let i = 0; i < WRISTBANDS; i++) {
  people.push({
    id: `p${i}`,
    village: `v${i % 50}`,
    device: `wb${i}`,
    livesAlone: true,
    heartRate: { min: 50, max: 110 },
    spo2: { min: 92 },
    waking: { from: '07:00', to: '21:00' },
  });
}
const devices = {};
for (let i = 0; i < STATIONS; i++) devices[`aq${i}`] = { village: `v${i % 50}`, station: `s${i}` };
const rules = compileRules({
  people,
  devices,
  thresholds: [
    { id: 'pm25-high', metric: 'pm25', direction: 'above', level: 150, clearLevel: 115, holdMs: 300_000 },
    { id: 'pm10-high', metric: 'pm10', direction: 'above', level: 250, clearLevel: 200, holdMs: 300_000 },
    { id: 'o3-high', metric: 'o3', direction: 'above', level: 200, clearLevel: 160, severity: 'critical' },
    { id: 'no2-high', metric: 'no2', direction: 'above', level: 200, clearLevel: 150 },
  ],
  means: { metrics: ['pm25', 'pm10', 'o3', 'no2'] },
  elderCare: { reportIntervalMs: 60_000, silenceFactor: 3 },
});
const state = createState(rules, T0);

// Pre-build the input stream so the timing measures the engine, not the generator.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const inputs = [];
for (let s = 0; s < simulatedSeconds; s += 60) {
  const ts = T0 + s * 1000;
  for (let i = 0; i < WRISTBANDS; i++) {
    const device = `wb${i}`;
    const r = (metric, value) =>
      inputs.push({ kind: 'reading', reading: { device, metric, value, unit: '', ts, quality: 'good' } });
    r('heart_rate', 60 + Math.round(rand() * 60));
    r('spo2', 90 + Math.round(rand() * 9));
    r('steps', Math.floor(s / 30) * (i % 3));
    r('battery', 100 - Math.floor(s / 600) - (i % 90));
    r('worn', rand() > 0.05);
    if (rand() < 0.0005)
      inputs.push({ kind: 'event', event: { device, type: 'fall', severity: 'critical', ts, data: {} } });
  }
  for (let i = 0; i < STATIONS; i++) {
    const device = `aq${i}`;
    const r = (metric, value) =>
      inputs.push({
        kind: 'reading',
        reading: { device, metric, value, unit: 'ug/m3', ts, quality: 'good' },
      });
    r('pm25', Math.round(rand() * 200 * 10) / 10);
    r('pm10', Math.round(rand() * 300));
    r('o3', Math.round(rand() * 210));
    r('no2', Math.round(rand() * 220));
  }
}

let outputs = 0;
let ticks = 0;
let deadline = nextDeadline(rules, state, T0);
const started = process.hrtime.bigint();
for (const input of inputs) {
  const now = input.kind === 'reading' ? input.reading.ts : input.event.ts;
  if (deadline !== null && deadline <= now) {
    outputs += tick(rules, state, now).outputs.length;
    ticks++;
    deadline = nextDeadline(rules, state, now);
  }
  outputs += step(rules, state, input, now).outputs.length;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const readings = inputs.length;
console.log(
  JSON.stringify({
    bench: 'rules',
    devices: WRISTBANDS + STATIONS,
    inputs: readings,
    readings_per_s: Math.round(readings / seconds),
    seconds: Number(seconds.toFixed(3)),
    outputs,
    ticks,
    active_alerts: Object.keys(state.alerts).length,
    open_incidents: Object.keys(state.incidents.open).length,
  }),
);

const ndStart = process.hrtime.bigint();
const N = 200;
for (let i = 0; i < N; i++) nextDeadline(rules, state, T0 + simulatedSeconds * 1000);
const ndUs = Number(process.hrtime.bigint() - ndStart) / 1e3 / N;
const serStart = process.hrtime.bigint();
const json = serializeState(state);
const serMs = Number(process.hrtime.bigint() - serStart) / 1e6;
console.log(
  JSON.stringify({
    bench: 'rules-state',
    devices: WRISTBANDS + STATIONS,
    next_deadline_us: Number(ndUs.toFixed(1)),
    state_bytes: json.length,
    serialize_ms: Number(serMs.toFixed(2)),
  }),
);

const aqiStart = process.hrtime.bigint();
const AQI_N = 100_000;
for (let i = 0; i < AQI_N; i++) {
  computeAqi(
    {
      'PM2.5_24h': (i % 5000) / 10,
      PM10_24h: i % 600,
      NO2_1h: i % 3000,
      O3_1h: i % 1200,
      CO_1h: (i % 1500) / 10,
      SO2_1h: i % 800,
    },
    { at: T0 },
  );
}
const aqiS = Number(process.hrtime.bigint() - aqiStart) / 1e9;
console.log(JSON.stringify({ bench: 'rules-aqi', computations_per_s: Math.round(AQI_N / aqiS) }));
