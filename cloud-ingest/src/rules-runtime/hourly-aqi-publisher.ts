import type { Reading } from '@village/protocol';
import {
  type AqiSample,
  type DataFlag,
  HOUR_MS,
  type Pollutant,
  type PublishedAqi,
  dailyAqi,
  dayStart,
  hourlyAqi,
} from '@village/rules';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { PlaceTags, Sink } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';
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
  record(place: PlaceTags, results: readonly { reading: Reading; flag: DataFlag }[]): void;
  /** An officer's flag change: the samples' flags follow and the hours concerned are published again. */
  flagChanged(change: FlagChange): void;
  /** Publishes every complete, changed hour and day (the timer calls it; tests may too). */
  publishDue(): void;
  list(q: {
    kind: 'hourly' | 'daily';
    station?: string;
    /** The caller's villages. */
    villages: ReadonlySet<string> | 'all';
    from?: number;
    to?: number;
    limit: number;
  }): PublishedRow[];
  /** Pollutant readings of a station in [from, to), and how many of them quality control flagged. */
  sampleCounts(station: string, from: number, to: number): { total: number; flagged: number };
  /** The newest hourly AQI of each station the caller may see. */
  latest(villages: ReadonlySet<string> | 'all'): PublishedRow[];
  close(): Promise<void>;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS aqi_samples (
    device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, station TEXT NOT NULL,
    pollutant TEXT NOT NULL, value REAL NOT NULL, flag TEXT NOT NULL,
    PRIMARY KEY (device, metric, ts)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS aqi_samples_by_station ON aqi_samples (station, ts);
  CREATE TABLE IF NOT EXISTS aqi_published (
    kind TEXT NOT NULL, station TEXT NOT NULL, start INTEGER NOT NULL, village TEXT, row JSON NOT NULL,
    published_at INTEGER NOT NULL, PRIMARY KEY (kind, station, start)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS aqi_due (
    kind TEXT NOT NULL, station TEXT NOT NULL, start INTEGER NOT NULL,
    PRIMARY KEY (kind, station, start)) WITHOUT ROWID;
`;

/**
 * The published AQI (docs/rules.md "Published AQI"): every pollutant reading quality control
 * judged is kept with its flag in cloud.db (`aqi_samples`, keyed by device, metric and time, so a
 * replayed reading changes nothing); every clock hour a station had data in, once the hour is
 * over (plus `graceMs` for late data), gets its hourly AQI from the `N` samples of the 24 hours
 * up to it, and every natural day its daily AQI. Both are stored (`aqi_published`) and written to
 * the sink as series of the device `aqi:<station>` (metrics `aqi_1h`, `aqi_1d`, `iaqi_<item>`).
 * Late data, and an officer's invalidation or restore, mark the hours (and days) concerned due
 * again (`aqi_due`, so a restart loses nothing). Time is the injected clock.
 */
export function createAqiPublisher(deps: {
  db: Db;
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
  const { db, log } = deps;
  db.exec(SCHEMA);
  const published = new Counter({
    name: 'cloud_aqi_published_total',
    help: 'Hourly and daily AQI published (again, after late data or a flag change), by kind',
    labelNames: ['kind'],
    registers: [deps.registry],
  });
  const insertSample = db.prepare<[string, string, number, string, string, number, string]>(
    'INSERT OR IGNORE INTO aqi_samples (device, metric, ts, station, pollutant, value, flag) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const markDue = db.prepare<[string, string, number]>(
    'INSERT OR IGNORE INTO aqi_due (kind, station, start) VALUES (?, ?, ?)',
  );
  const dueBefore = db.prepare<[string, number], { station: string; start: number }>(
    'SELECT station, start FROM aqi_due WHERE kind = ? AND start <= ? ORDER BY start',
  );
  const clearDue = db.prepare<[string, string, number]>(
    'DELETE FROM aqi_due WHERE kind = ? AND station = ? AND start = ?',
  );
  const samplesOf = db.prepare<
    [string, number, number],
    { device: string; pollutant: Pollutant; ts: number; value: number; flag: string }
  >('SELECT device, pollutant, ts, value, flag FROM aqi_samples WHERE station = ? AND ts >= ? AND ts < ?');
  const upsertPublished = db.prepare<[string, string, number, string | null, string, number]>(
    `INSERT INTO aqi_published (kind, station, start, village, row, published_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, station, start) DO UPDATE SET village = excluded.village, row = excluded.row,
       published_at = excluded.published_at`,
  );
  const publishedAfter = db.prepare<[string, string, number, number], { start: number }>(
    'SELECT start FROM aqi_published WHERE kind = ? AND station = ? AND start >= ? AND start < ?',
  );

  function due(station: string, ts: number): void {
    const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
    markDue.run('hourly', station, hour);
    markDue.run('daily', station, dayStart(ts));
    // Later hours already published rest on this one through their 8-h and 24-h means.
    for (const r of publishedAfter.all('hourly', station, hour + HOUR_MS, hour + DAY_MS))
      markDue.run('hourly', station, r.start);
  }

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

  function publish(kind: 'hourly' | 'daily', station: string, start: number, now: number): PublishedRow {
    const end = kind === 'hourly' ? start + HOUR_MS : start + DAY_MS;
    const from = kind === 'hourly' ? end - DAY_MS : start;
    const all = samplesOf.all(station, from, end);
    const good: AqiSample[] = all.filter((s) => s.flag === 'N');
    const flagged = all.filter((s) => s.flag !== 'N' && s.ts >= start && s.ts < end).length;
    const options = { intervalOf: (device: string) => deps.intervalOf(device) };
    const p = kind === 'hourly' ? hourlyAqi(good, start, options) : dailyAqi(good, start, options);
    const row = rowOf(kind, station, p, flagged, now);
    upsertPublished.run(kind, station, start, row.village, JSON.stringify(row), now);
    published.inc({ kind });
    return row;
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

  function publishDue(): void {
    const now = deps.now();
    const rows: PublishedRow[] = [];
    for (const kind of ['hourly', 'daily'] as const) {
      const span = kind === 'hourly' ? HOUR_MS : DAY_MS;
      for (const d of dueBefore.all(kind, now - deps.graceMs - span)) {
        db.transaction(() => {
          rows.push(publish(kind, d.station, d.start, now));
          clearDue.run(kind, d.station, d.start);
        })();
      }
    }
    if (rows.length > 0) log.info({ published: rows.length }, 'aqi: published hourly/daily AQI');
    toSink(rows);
  }

  const timer = setInterval(() => {
    try {
      publishDue();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'aqi: publishing failed');
    }
  }, deps.everyMs);
  timer.unref();

  return {
    record(place, results) {
      const station = place.station;
      if (station === null) return;
      db.transaction(() => {
        // One `due` per hour and day the batch's new samples fall in, not one per sample: a batch
        // of 500 readings of one hour made 500 times the same four statements (a profile of the
        // cloud into InfluxDB: 18 % of its CPU).
        const hours = new Map<string, number>();
        for (const { reading: r, flag } of results) {
          const p = POLLUTANT_OF[r.metric];
          if (!p || typeof r.value !== 'number' || !Number.isFinite(r.value)) continue;
          // A reading in another unit was already flagged by quality control; never read as this one.
          const f = p.units.includes(r.unit) ? flag : flag === 'N' ? 'Q' : flag;
          if (insertSample.run(r.device, r.metric, r.ts, station, p.pollutant, r.value, f).changes > 0)
            hours.set(`${Math.floor(r.ts / HOUR_MS)}|${dayStart(r.ts)}`, r.ts);
        }
        for (const ts of hours.values()) due(station, ts);
      })();
    },
    flagChanged(change) {
      const { scope, flag } = change;
      const where: string[] = ['ts >= ?', 'ts < ?'];
      const params: (string | number)[] = [scope.from, scope.to];
      if (scope.device !== undefined) {
        where.push('device = ?');
        params.push(scope.device);
      }
      if (scope.station !== undefined) {
        where.push('station = ?');
        params.push(scope.station);
      }
      if (scope.metric !== undefined) {
        where.push('metric = ?');
        params.push(scope.metric);
      }
      if (scope.metrics !== undefined) {
        where.push(`metric IN (${scope.metrics.map(() => '?').join(', ')})`);
        params.push(...scope.metrics);
      }
      db.transaction(() => {
        const touched = db
          .prepare<(string | number)[], { station: string; ts: number }>(
            `SELECT station, ts FROM aqi_samples WHERE ${where.join(' AND ')}`,
          )
          .all(...params);
        db.prepare(`UPDATE aqi_samples SET flag = ? WHERE ${where.join(' AND ')}`).run(flag, ...params);
        const hours = new Set<string>();
        for (const t of touched) hours.add(`${t.station}\u0000${Math.floor(t.ts / HOUR_MS) * HOUR_MS}`);
        for (const k of hours) {
          const [station, hour] = k.split('\u0000');
          due(station!, Number(hour));
        }
      })();
    },
    publishDue,
    list(q) {
      const where: string[] = ['kind = ?'];
      const params: (string | number)[] = [q.kind];
      if (q.station !== undefined) {
        where.push('station = ?');
        params.push(q.station);
      }
      if (q.from !== undefined) {
        where.push('start >= ?');
        params.push(q.from);
      }
      if (q.to !== undefined) {
        where.push('start < ?');
        params.push(q.to);
      }
      if (q.villages !== 'all') {
        where.push(`village IN (${[...q.villages].map(() => '?').join(', ') || 'NULL'})`);
        params.push(...q.villages);
      }
      return db
        .prepare<(string | number)[], { row: string }>(
          `SELECT row FROM aqi_published WHERE ${where.join(' AND ')} ORDER BY start DESC, station LIMIT ?`,
        )
        .all(...params, q.limit)
        .map((r) => JSON.parse(r.row) as PublishedRow);
    },
    sampleCounts(station, from, to) {
      return db
        .prepare<[string, number, number], { total: number; flagged: number }>(
          `SELECT count(*) AS total, coalesce(sum(flag <> 'N'), 0) AS flagged FROM aqi_samples
            WHERE station = ? AND ts >= ? AND ts < ?`,
        )
        .get(station, from, to)!;
    },
    latest(villages) {
      // SQLite takes a bare column from the row holding the MAX.
      return db
        .prepare<[], { row: string; village: string | null }>(
          `SELECT row, village, MAX(start) FROM aqi_published WHERE kind = 'hourly' GROUP BY station ORDER BY station`,
        )
        .all()
        .filter((r) => villages === 'all' || (r.village !== null && villages.has(r.village)))
        .map((r) => JSON.parse(r.row) as PublishedRow);
    },
    async close() {
      clearInterval(timer);
      await sinkQueue;
    },
  };
}
