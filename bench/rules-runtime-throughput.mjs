// Readings per second through the cloud's rules runtime (step + alerts/incidents tables + state
// persistence in cloud.db), 1,000 devices with every rule on: 600 wristbands (all elder-care
// rules), 400 air stations (4 threshold rules). Batches of 1,000 readings arrive as committed
// batches do; the state is written as the runtime does it (at once on visible changes, else
// every persistIntervalMs). Prints JSON lines.
// Build first: (cd rules && npx tsc -p tsconfig.build.json) && (cd cloud-ingest && npx tsc -p tsconfig.build.json)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';

const dist = join(import.meta.dirname, '..', 'cloud-ingest', 'dist');
const { startRulesRuntime } = await import(join(dist, 'rules-runtime', 'rules-runtime.js'));
const { compileRulesSetup } = await import(join(dist, 'rules-runtime', 'rules-from-registry.js'));
const { rulesSectionSchema } = await import(join(dist, 'rules-runtime', 'rules-config.js'));
const { createCommittedFeed } = await import(join(dist, 'ingest', 'committed-feed.js'));
const { createNotificationDispatcher } = await import(join(dist, 'notify', 'notification-dispatcher.js'));
const { parseRegistry } = await import(join(dist, 'registry-file.js'));
const { openDatabase } = await import(join(dist, 'store', 'open-database.js'));

const { values: args } = parseArgs({
  options: { batches: { type: 'string', default: '300' }, persistMs: { type: 'string', default: '250' } },
});
const BATCHES = Number(args.batches);
const WRISTBANDS = 600;
const AIR = 400;

const stations = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, name: `S${i}`, edges: [`e${i}`] }));
const registry = parseRegistry({
  counties: [
    {
      id: 'c1',
      name: 'C',
      towns: [
        {
          id: 't1',
          name: 'T',
          villages: stations.map((s, i) => ({ id: `v${i}`, name: `V${i}`, stations: [s] })),
        },
      ],
    },
  ],
  people: Array.from({ length: WRISTBANDS }, (_, i) => ({
    id: `p${i}`,
    name: `P${i}`,
    station: `s${i % 10}`,
    wristband: `wb-${i}`,
    livesAlone: i % 2 === 0,
    heartRate: [50, 110],
    spo2: [92, 100],
  })),
});
const section = rulesSectionSchema.parse({
  thresholds: [
    { id: 'pm25', metric: 'pm25', level: 150, clearLevel: 120, holdMs: 300_000 },
    { id: 'pm10', metric: 'pm10', level: 250, clearLevel: 200, holdMs: 300_000 },
    { id: 'co', metric: 'co', level: 10, clearLevel: 8, severity: 'critical', holdMs: 60_000 },
    { id: 'o3', metric: 'o3', level: 200, clearLevel: 160 },
  ],
});

const dir = mkdtempSync(join(tmpdir(), 'rules-runtime-bench-'));
const db = openDatabase(dir);
const log = pino({ level: 'silent' });
const promRegistry = new Registry();
const feed = createCommittedFeed((err) => {
  throw err;
});
let clock = Date.UTC(2026, 4, 1, 2, 0, 0);
const now = () => clock;
const runtime = startRulesRuntime({
  db,
  setup: compileRulesSetup(section, registry),
  committed: feed,
  dispatcher: createNotificationDispatcher({ db, notifiers: [], log, now, registry: promRegistry }),
  log,
  registry: promRegistry,
  now,
  persistIntervalMs: Number(args.persistMs),
});

// One batch = one report of every device: wristbands send a vital each, air stations a pollutant.
const METRICS = ['pm25', 'pm10', 'co', 'o3'];
function batch(round) {
  const ts = clock;
  const readings = [];
  for (let i = 0; i < WRISTBANDS; i++) {
    const m = ['heart_rate', 'spo2', 'steps', 'battery', 'worn'][round % 5];
    const value =
      m === 'heart_rate'
        ? 60 + ((i + round) % 70)
        : m === 'spo2'
          ? 90 + (i % 9)
          : m === 'steps'
            ? round * 10 + i
            : m === 'battery'
              ? 50
              : true;
    readings.push({ device: `wb-${i}`, metric: m, value, unit: '', ts, quality: 'good' });
  }
  for (let i = 0; i < AIR; i++) {
    const m = METRICS[i % 4];
    readings.push({
      device: `air-${i}`,
      metric: m,
      value: 50 + ((i * 7 + round * 13) % 250),
      unit: '',
      ts,
      quality: 'good',
    });
  }
  return {
    edgeId: `e${round % 10}`,
    historical: false,
    receivedAt: ts,
    place: { county: 'c1', town: 't1', village: `v${round % 10}`, station: `s${round % 10}` },
    readings,
    events:
      round % 50 === 0
        ? [{ device: `wb-${round % WRISTBANDS}`, type: 'fall', severity: 'critical', ts, data: {} }]
        : [],
  };
}

// Warm-up (JIT, device learning), then the measured run; data time advances 10 s per batch.
for (let r = 0; r < 20; r++) {
  feed.publish(batch(r));
  clock += 10_000;
}
const t0 = performance.now();
let readings = 0;
for (let r = 20; r < 20 + BATCHES; r++) {
  const b = batch(r);
  feed.publish(b);
  readings += b.readings.length;
  clock += 10_000;
}
const ms = performance.now() - t0;
await runtime.close();
const alerts = db.prepare('SELECT COUNT(*) AS n FROM alerts').get().n;
const incidents = db.prepare('SELECT COUNT(*) AS n FROM incidents').get().n;
const stateBytes = db.prepare('SELECT length(state) AS n FROM rule_state').get().n;
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    bench: 'rules-runtime-throughput',
    devices: WRISTBANDS + AIR,
    batches: BATCHES,
    readings,
    seconds: +(ms / 1000).toFixed(3),
    readingsPerSecond: Math.round(readings / (ms / 1000)),
    alerts,
    incidents,
    stateBytes,
    persistIntervalMs: Number(args.persistMs),
  }),
);
