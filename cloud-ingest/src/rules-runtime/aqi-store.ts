import { type DataFlag, HOUR_MS, type Pollutant, dayStart } from '@village/rules';
import type { Db } from '../store/open-database.js';
import type { PublishedRow } from './hourly-aqi-publisher.js';
import { settled } from './quality-store.js';

const DAY_MS = 24 * HOUR_MS;

/** One pollutant reading quality control judged, with its flag. */
export interface AqiSampleRow {
  device: string;
  metric: string;
  ts: number;
  pollutant: Pollutant;
  value: number;
  flag: DataFlag;
}

/** The samples an officer's flag change covers: [from, to), narrowed by device, station, metric(s). */
export interface SampleScope {
  from: number;
  to: number;
  device?: string;
  station?: string;
  metric?: string;
  metrics?: readonly string[];
}

/**
 * Where the published AQI keeps its samples, the due hours and days, and what it published:
 * cloud.db (openAqiStore, one host) or the SharedStore's PostgreSQL tables
 * (shared-store/postgres-air-quality.ts, several hosts). Both do the same in each call, in one
 * transaction; the SQLite one does its work when called (its promises are settled on return).
 *
 * Due marks (`dueMarksOf`): a new sample, or a flag changed, makes its clock hour and its day due
 * again, and the hours already published in the 24 h after it too, as their 8-h and 24-h means
 * rest on it.
 */
export interface AqiStore {
  /** Stores the samples not stored yet (device, metric, ts) and marks due what the new ones touch. */
  addSamples(station: string, samples: readonly AqiSampleRow[]): Promise<void>;
  /** Gives the samples of a scope `flag` and marks due the hours (and days) they are in. */
  setFlags(scope: SampleScope, flag: DataFlag): Promise<void>;
  /** Due periods of a kind starting at or before `before`, oldest first. */
  due(kind: 'hourly' | 'daily', before: number): Promise<{ station: string; start: number }[]>;
  /**
   * Publishes one due period once across hosts: in one transaction, if it is still due (and not
   * being published elsewhere, which is skipped, not waited on), `compute` makes its row from the
   * station's samples in [from, end); the row is stored and the period no longer due. Undefined
   * when it was not due any more.
   */
  publish(
    due: { kind: 'hourly' | 'daily'; station: string; start: number; from: number; end: number },
    compute: (samples: StoredSample[]) => PublishedRow,
  ): Promise<PublishedRow | undefined>;
  list(q: PublishedQuery): Promise<PublishedRow[]>;
  sampleCounts(station: string, from: number, to: number): Promise<{ total: number; flagged: number }>;
  /** The newest hourly row of each station, by station. */
  latest(): Promise<PublishedRow[]>;
}

/** Which published rows to list, newest first. */
export interface PublishedQuery {
  kind: 'hourly' | 'daily';
  station?: string;
  /** The caller's villages. */
  villages: ReadonlySet<string> | 'all';
  from?: number;
  to?: number;
  limit: number;
}

export interface StoredSample {
  device: string;
  pollutant: Pollutant;
  ts: number;
  value: number;
  flag: string;
}

/** What a sample at `ts` makes due: its hour, its day, and the published hours in [laterFrom, laterTo). */
export function dueMarksOf(ts: number): { hour: number; day: number; laterFrom: number; laterTo: number } {
  const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
  return { hour, day: dayStart(ts), laterFrom: hour + HOUR_MS, laterTo: hour + DAY_MS };
}

/** The distinct hours of these times (one set of due marks per hour, not per sample). */
export function hoursOf(times: Iterable<number>): number[] {
  const hours = new Set<number>();
  for (const ts of times) hours.add(Math.floor(ts / HOUR_MS) * HOUR_MS);
  return [...hours];
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

/** The published AQI's tables in cloud.db (one host). */
export function openAqiStore(db: Db): AqiStore {
  db.exec(SCHEMA);
  const insertSample = db.prepare<[string, string, number, string, string, number, string]>(
    'INSERT OR IGNORE INTO aqi_samples (device, metric, ts, station, pollutant, value, flag) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const markDue = db.prepare<[string, string, number]>(
    'INSERT OR IGNORE INTO aqi_due (kind, station, start) VALUES (?, ?, ?)',
  );
  const markLater = db.prepare<[string, number, number]>(
    `INSERT OR IGNORE INTO aqi_due (kind, station, start)
     SELECT 'hourly', station, start FROM aqi_published
      WHERE kind = 'hourly' AND station = ? AND start >= ? AND start < ?`,
  );
  const dueBefore = db.prepare<[string, number], { station: string; start: number }>(
    'SELECT station, start FROM aqi_due WHERE kind = ? AND start <= ? ORDER BY start',
  );
  const isDue = db.prepare<[string, string, number], { start: number }>(
    'SELECT start FROM aqi_due WHERE kind = ? AND station = ? AND start = ?',
  );
  const clearDue = db.prepare<[string, string, number]>(
    'DELETE FROM aqi_due WHERE kind = ? AND station = ? AND start = ?',
  );
  const samplesOf = db.prepare<[string, number, number], StoredSample>(
    'SELECT device, pollutant, ts, value, flag FROM aqi_samples WHERE station = ? AND ts >= ? AND ts < ?',
  );
  const upsertPublished = db.prepare<[string, string, number, string | null, string, number]>(
    `INSERT INTO aqi_published (kind, station, start, village, row, published_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, station, start) DO UPDATE SET village = excluded.village, row = excluded.row,
       published_at = excluded.published_at`,
  );

  function due(station: string, hours: Iterable<number>): void {
    for (const hour of hours) {
      const m = dueMarksOf(hour);
      markDue.run('hourly', station, m.hour);
      markDue.run('daily', station, m.day);
      markLater.run(station, m.laterFrom, m.laterTo);
    }
  }

  return {
    addSamples: (station, samples) =>
      settled(() =>
        db.transaction(() => {
          const fresh: number[] = [];
          for (const s of samples)
            if (insertSample.run(s.device, s.metric, s.ts, station, s.pollutant, s.value, s.flag).changes > 0)
              fresh.push(s.ts);
          due(station, hoursOf(fresh));
        })(),
      ),
    setFlags: (scope, flag) =>
      settled(() => {
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
          const byStation = new Map<string, number[]>();
          for (const t of touched) byStation.set(t.station, [...(byStation.get(t.station) ?? []), t.ts]);
          for (const [station, times] of byStation) due(station, hoursOf(times));
        })();
      }),
    due: (kind, before) => settled(() => dueBefore.all(kind, before)),
    publish: (d, compute) =>
      settled(() =>
        db.transaction(() => {
          if (isDue.get(d.kind, d.station, d.start) === undefined) return undefined;
          const row = compute(samplesOf.all(d.station, d.from, d.end));
          upsertPublished.run(d.kind, d.station, d.start, row.village, JSON.stringify(row), row.publishedAt);
          clearDue.run(d.kind, d.station, d.start);
          return row;
        })(),
      ),
    list: (q) =>
      settled(() => {
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
      }),
    sampleCounts: (station, from, to) =>
      settled(
        () =>
          db
            .prepare<[string, number, number], { total: number; flagged: number }>(
              `SELECT count(*) AS total, coalesce(sum(flag <> 'N'), 0) AS flagged FROM aqi_samples
                WHERE station = ? AND ts >= ? AND ts < ?`,
            )
            .get(station, from, to)!,
      ),
    latest: () =>
      settled(() =>
        // SQLite takes a bare column from the row holding the MAX.
        db
          .prepare<[], { row: string }>(
            `SELECT row, MAX(start) FROM aqi_published WHERE kind = 'hourly' GROUP BY station ORDER BY station`,
          )
          .all()
          .map((r) => JSON.parse(r.row) as PublishedRow),
      ),
  };
}
