import type { Reading } from '@village/protocol';
import {
  type AqiSample,
  type DataFlag,
  HOUR_MS,
  type Pollutant,
  type PublishedAqi,
  dailyAqi,
  hourlyAqi,
} from '@village/rules';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { PlaceTags, Sink } from '../sink/sink.js';
import type { AqiSampleRow, AqiStore, PublishedQuery, StoredSample } from './aqi-store.js';
import type { FlagChange } from './quality-flags.js';

const DAY_MS = 24 * HOUR_MS;
const UG = ['µg/m³', 'μg/m³', 'ug/m3', 'ug/m³'];
const MG = ['mg/m³', 'mg/m3'];
/** Metric names devices use → pollutant, and the units its HJ 633 row is in. */
const POLLUTANT_OF: Record<string, { pollutant: Pollutant; units: readonly string[] }> = {
  pm25: { pollutant: 'PM2.5', units: UG },
  pm2_5: { pollutant: 'PM2.5', units: UG },
  pm10: { pollutant: 'PM10', units: UG },
  o3: { pollutant: 'O3', units: UG },
  no2: { pollutant: 'NO2', units: UG },
  so2: { pollutant: 'SO2', units: UG },
  co: { pollutant: 'CO', units: MG },
};

/** One published hourly or daily AQI of a station, as stored and served. */
export interface PublishedRow {
  kind: 'hourly' | 'daily';
  station: string;
  village: string | null;
  start: number;
  end: number;
  aqi: number | null;
  level: number | null;
  levelZh: string | null;
  primary: string[];
  iaqi: Record<string, number | null>;
  concentrations: Record<string, number>;
  means: PublishedAqi['means'];
  version: string;
  /** Readings of the station in the period left out by quality control (flag not N). */
  flagged: number;
  publishedAt: number;
}

export interface AqiPublisher {
  /** Takes the pollutant readings of a judged batch (every flag: the flagged ones are counted). */
  record(place: PlaceTags, results: readonly { reading: Reading; flag: DataFlag }[]): Promise<void>;
  /** An officer's flag change: the samples' flags follow and the hours concerned are published again. */
  flagChanged(change: FlagChange): Promise<void>;
  /** Publishes every complete, changed hour and day (the timer calls it; tests may too). */
  publishDue(): Promise<void>;
  list(q: PublishedQuery): Promise<PublishedRow[]>;
  /** Pollutant readings of a station in [from, to), and how many of them quality control flagged. */
  sampleCounts(station: string, from: number, to: number): Promise<{ total: number; flagged: number }>;
  /** The newest hourly AQI of each station the caller may see. */
  latest(villages: ReadonlySet<string> | 'all'): Promise<PublishedRow[]>;
  close(): Promise<void>;
}

/**
 * The published AQI (docs/rules.md "Published AQI"): every pollutant reading quality control
 * judged is kept with its flag (aqi-store.ts: cloud.db's `aqi_samples`, or the shared store's
 * with several hosts; keyed by device, metric and time, so a replayed reading changes nothing); every clock hour a station had data in, once the hour is
 * over (plus `graceMs` for late data), gets its hourly AQI from the `N` samples of the 24 hours
 * up to it, and every natural day its daily AQI. Both are stored (`aqi_published`) and written to
 * the sink as series of the device `aqi:<station>` (metrics `aqi_1h`, `aqi_1d`, `iaqi_<item>`).
 * Late data, and an officer's invalidation or restore, mark the hours (and days) concerned due
 * again (`aqi_due`, so a restart loses nothing). Each due period is published once, by whichever
 * host's timer gets it first (AqiStore.publish). Time is the injected clock.
 */
export function createAqiPublisher(deps: {
  store: AqiStore;
  sink: Sink | undefined;
  log: Logger;
  registry: Registry;
  now(): number;
  placeOfStation(station: string): PlaceTags;
  intervalOf(device: string): number | undefined;
  /** Complete hours are published this long after their end (late data), ms. */
  graceMs: number;
  everyMs: number;
}): AqiPublisher {
  const { store, log } = deps;
  const published = new Counter({
    name: 'cloud_aqi_published_total',
    help: 'Hourly and daily AQI published (again, after late data or a flag change), by kind',
    labelNames: ['kind'],
    registers: [deps.registry],
  });

  function rowOf(
    kind: 'hourly' | 'daily',
    station: string,
    p: PublishedAqi,
    flagged: number,
    now: number,
  ): PublishedRow {
    const r = p.result;
    return {
      kind,
      station,
      village: deps.placeOfStation(station).village,
      start: p.start,
      end: p.end,
      aqi: r.aqi,
      level: r.level?.level ?? null,
      levelZh: r.level?.nameZh ?? null,
      primary: r.primaryPollutants,
      iaqi: Object.fromEntries(r.items.map((i) => [i.item, i.iaqi])),
      concentrations: Object.fromEntries(r.items.map((i) => [i.item, i.reported])),
      means: p.means,
      version: r.version,
      flagged,
      publishedAt: now,
    };
  }

  function compute(
    kind: 'hourly' | 'daily',
    station: string,
    start: number,
    end: number,
    all: StoredSample[],
    now: number,
  ): PublishedRow {
    const good: AqiSample[] = all.filter((s) => s.flag === 'N');
    const flagged = all.filter((s) => s.flag !== 'N' && s.ts >= start && s.ts < end).length;
    const options = { intervalOf: (device: string) => deps.intervalOf(device) };
    const p = kind === 'hourly' ? hourlyAqi(good, start, options) : dailyAqi(good, start, options);
    return rowOf(kind, station, p, flagged, now);
  }

  // The sink copy, in order; a failure is logged and the row stays in cloud.db (the API serves it).
  let sinkQueue: Promise<unknown> = Promise.resolve();
  function toSink(rows: PublishedRow[]): void {
    const sink = deps.sink;
    if (!sink || rows.length === 0) return;
    const byStation = new Map<string, Reading[]>();
    for (const row of rows) {
      if (row.aqi === null) continue;
      const device = `aqi:${row.station}`;
      const list = byStation.get(row.station) ?? [];
      list.push({
        device,
        metric: row.kind === 'hourly' ? 'aqi_1h' : 'aqi_1d',
        value: row.aqi,
        unit: '',
        ts: row.start,
        quality: 'good',
      });
      for (const [item, v] of Object.entries(row.iaqi))
        if (v !== null)
          list.push({
            device,
            metric: `${row.kind === 'hourly' ? 'iaqi_1h' : 'iaqi_1d'}_${item.replace('.', '')}`,
            value: v,
            unit: '',
            ts: row.start,
            quality: 'good',
          });
      byStation.set(row.station, list);
    }
    for (const [station, readings] of byStation) {
      const batch = {
        edgeId: 'cloud-aqi',
        historical: true,
        receivedAt: deps.now(),
        place: deps.placeOfStation(station),
        readings,
        events: [],
      };
      sinkQueue = sinkQueue
        .then(() => sink.commitBatch(batch, () => {}))
        .catch((err: Error) =>
          log.warn({ err: err.message, station }, 'aqi: writing the published AQI to the sink failed'),
        );
    }
  }

  async function publishDue(): Promise<void> {
    const now = deps.now();
    const rows: PublishedRow[] = [];
    for (const kind of ['hourly', 'daily'] as const) {
      const span = kind === 'hourly' ? HOUR_MS : DAY_MS;
      for (const d of await store.due(kind, now - deps.graceMs - span)) {
        const end = d.start + span;
        const from = kind === 'hourly' ? end - DAY_MS : d.start;
        const row = await store.publish({ kind, station: d.station, start: d.start, from, end }, (all) =>
          compute(kind, d.station, d.start, end, all, now),
        );
        if (row === undefined) continue; // another host published it meanwhile
        published.inc({ kind });
        rows.push(row);
      }
    }
    if (rows.length > 0) log.info({ published: rows.length }, 'aqi: published hourly/daily AQI');
    toSink(rows);
  }

  const timer = setInterval(() => {
    publishDue().catch((err: Error) => log.error({ err: err.message }, 'aqi: publishing failed'));
  }, deps.everyMs);
  timer.unref();

  return {
    record(place, results) {
      const station = place.station;
      if (station === null) return Promise.resolve();
      const samples: AqiSampleRow[] = [];
      for (const { reading: r, flag } of results) {
        const p = POLLUTANT_OF[r.metric];
        if (!p || typeof r.value !== 'number' || !Number.isFinite(r.value)) continue;
        // A reading in another unit was already flagged by quality control; never read as this one.
        const f = p.units.includes(r.unit) ? flag : flag === 'N' ? 'Q' : flag;
        samples.push({
          device: r.device,
          metric: r.metric,
          ts: r.ts,
          pollutant: p.pollutant,
          value: r.value,
          flag: f,
        });
      }
      return samples.length === 0 ? Promise.resolve() : store.addSamples(station, samples);
    },
    flagChanged: (change) => store.setFlags(change.scope, change.flag),
    publishDue,
    list: (q) => store.list(q),
    sampleCounts: (station, from, to) => store.sampleCounts(station, from, to),
    async latest(villages) {
      return (await store.latest()).filter(
        (r) => villages === 'all' || (r.village !== null && villages.has(r.village)),
      );
    },
    async close() {
      clearInterval(timer);
      await sinkQueue;
    },
  };
}
