#!/usr/bin/env node
// Quality control and the published AQI in the shared store (SharedStore.quality and .aqi,
// shared-store/postgres-air-quality.ts) on a real PostgreSQL 15 (test-kit's startPostgres, durable
// as shipped): what a village's holder adds to each batch it judges (`addSamples` of a batch's
// pollutant readings, `putAuto` of its flagged ones), the same batch replayed after a takeover,
// what publishing one due hour costs (`publish`: the due row locked, 24 h of samples read, the row
// stored), and the version look-up a holder makes after each journal read with rows. Prints JSON
// lines. Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/air-quality-store.mjs [--batches 500] [--readings 20] [--stations 20]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { timed } from './latency.mjs';
import { openPostgresSharedStore, startPostgres } from './shared-stores.mjs';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '500' },
    readings: { type: 'string', default: '20' },
    stations: { type: 'string', default: '20' },
  },
});
const BATCHES = Number(args.batches);
const READINGS = Number(args.readings);
const STATIONS = Number(args.stations);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'air-quality-store', ...o })}\n`);
const H = 3_600_000;
const T = Date.UTC(2026, 11, 1);
const STEP = 60_000; // one batch a minute per station

/** Batch n: station n % STATIONS, READINGS pollutant readings (pm25 of READINGS devices) a minute apart. */
const samplesOf = (n) =>
  Array.from({ length: READINGS }, (_, k) => ({
    device: `aq-${n % STATIONS}-${k}`,
    metric: 'pm25',
    ts: T + Math.floor(n / STATIONS) * STEP,
    pollutant: 'PM2.5',
    value: 30 + (k % 7),
    flag: 'N',
  }));
const station = (n) => `s${n % STATIONS}`;
const flagRow = (n) => ({
  device: `aq-${n % STATIONS}-0`,
  metric: 'pm25',
  ts: T + Math.floor(n / STATIONS) * STEP,
  station: station(n),
  autoFlag: 'Q',
  flag: 'Q',
  reasons: [{ code: 'range', detail: 'below 0' }],
});
const audit = (r) => ({
  at: r.ts,
  actor: 'qc',
  action: 'auto',
  device: r.device,
  metric: r.metric,
  station: r.station,
  from: r.ts,
  to: r.ts + 1,
  flag: r.autoFlag,
  reason: 'range: below 0',
  readings: 1,
});

const pg = await startPostgres({ database: 'bench' });
try {
  const [holder, other] = [
    await openPostgresSharedStore({ url: pg.url, poolSize: 2 }),
    await openPostgresSharedStore({ url: pg.url, poolSize: 2 }),
  ];
  const base = { batches: BATCHES, readingsPerBatch: READINGS, stations: STATIONS };
  const n = Array.from({ length: BATCHES }, (_, i) => i);
  out({
    ...base,
    case: 'addSamples of one batch (new samples, hour and day marked due)',
    ...(await timed(n.map((i) => () => holder.aqi.addSamples(station(i), samplesOf(i))))),
    load1: loadavg()[0],
  });
  out({
    ...base,
    case: 'addSamples of the same batch replayed (after a takeover)',
    ...(await timed(n.map((i) => () => other.aqi.addSamples(station(i), samplesOf(i))))),
    load1: loadavg()[0],
  });
  out({
    ...base,
    case: 'putAuto of one flagged reading with its audit row',
    ...(await timed(n.map((i) => () => holder.quality.putAuto([flagRow(i)], [audit(flagRow(i))])))),
    load1: loadavg()[0],
  });
  out({
    ...base,
    case: 'version look-up (after each journal read with rows)',
    ...(await timed(n.map(() => () => holder.quality.version()))),
    load1: loadavg()[0],
  });
  const due = await other.aqi.due('hourly', T + 48 * H);
  let samples = 0;
  out({
    ...base,
    case: 'publish one due hour (lock, 24 h of samples, store)',
    ...(await timed(
      due.map(
        (d) => () =>
          other.aqi.publish(
            {
              kind: 'hourly',
              station: d.station,
              start: d.start,
              from: d.start + H - 24 * H,
              end: d.start + H,
            },
            (rows) => {
              samples += rows.length;
              return { kind: 'hourly', station: d.station, village: null, start: d.start, publishedAt: T };
            },
          ),
      ),
    )),
    samplesRead: samples,
    load1: loadavg()[0],
  });
  await holder.close();
  await other.close();
} finally {
  await pg.stop();
}
