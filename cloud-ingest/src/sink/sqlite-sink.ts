import type { DeviceEvent, Quality, Severity, Value } from '@village/protocol';
import type { Db } from '../store/open-database.js';
import { type TimeWindow, latestRange } from './reading-time-window.js';
import type {
  EventQuery,
  FlagWrite,
  GroupItem,
  LatestValue,
  RecordState,
  SeriesBucket,
  SeriesQuery,
  Sink,
  SinkBatch,
  SinkWriteResult,
  StoredEvent,
} from './sink.js';

/**
 * The embedded default sink: readings and events in the cloud's own SQLite database, so the
 * dedupe state rides in the same transaction as the points (`atomicWithState`).
 *
 * Tables (the e2e tests read `readings.rewrites` and `events.received_at`, keep the names):
 *   series   one row per (device, metric), with its unit, place tags and value type
 *   readings (series_id, ts) → value; a rewrite of an existing point overwrites it and bumps `rewrites`
 *   events   keyed (device, type, ts); same overwrite + `rewrites` rule
 *   latest   newest point per series
 * Booleans are stored as 0/1 and strings as TEXT; `series.value_type` turns them back on read.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
    county TEXT, town TEXT, village TEXT, station TEXT, value_type TEXT NOT NULL,
    UNIQUE (device, metric));
  CREATE TABLE IF NOT EXISTS readings (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value ANY, quality INTEGER NOT NULL,
    historical INTEGER NOT NULL, rewrites INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, edge TEXT NOT NULL, device TEXT NOT NULL, type TEXT NOT NULL,
    severity TEXT NOT NULL, ts INTEGER NOT NULL, received_at INTEGER NOT NULL, historical INTEGER NOT NULL,
    data JSON NOT NULL, rewrites INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device, type, ts));
  CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts);
  CREATE TABLE IF NOT EXISTS latest (
    series_id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, value ANY, quality INTEGER NOT NULL);
`;

type ValueType = 'number' | 'boolean' | 'string';
const QUALITY_CODE: Record<Quality, number> = { good: 0, suspect: 1, bad: 2 };
const QUALITY_BY_CODE: Quality[] = ['good', 'suspect', 'bad'];

interface CachedSeries {
  id: number;
  unit: string;
  valueType: ValueType;
  station: string | null;
}

function valueTypeOf(v: Value): ValueType {
  return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
}

function toColumn(v: Value): number | string {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

function fromColumn(v: number | string, type: string): Value {
  if (type === 'boolean') return v === 1;
  if (type === 'string') return String(v);
  return v;
}

export interface SqliteSinkOptions {
  /**
   * With it, `latest` rows dated outside the window (left by a cloud that let a 2096 reading
   * become latest) are replaced on open by the newest believable reading of their series.
   */
  repairLatest?: { window: TimeWindow; now: number };
}

export function createSqliteSink(db: Db, options: SqliteSinkOptions = {}): Sink {
  db.exec(SCHEMA);
  addFlagColumn(db);
  if (options.repairLatest)
    repairLatest(db, latestRange(options.repairLatest.window, options.repairLatest.now));
  const upsertSeries = db.prepare<
    {
      device: string;
      metric: string;
      unit: string;
      county: string | null;
      town: string | null;
      village: string | null;
      station: string | null;
      valueType: ValueType;
    },
    { id: number }
  >(
    `INSERT INTO series (device, metric, unit, county, town, village, station, value_type)
     VALUES (@device, @metric, @unit, @county, @town, @village, @station, @valueType)
     ON CONFLICT (device, metric) DO UPDATE SET unit = excluded.unit, county = excluded.county, town = excluded.town,
       village = excluded.village, station = excluded.station, value_type = excluded.value_type
     RETURNING id`,
  );
  const insertReading = db.prepare<[number, number, number | string, number, number]>(
    'INSERT OR IGNORE INTO readings (series_id, ts, value, quality, historical) VALUES (?, ?, ?, ?, ?)',
  );
  // Second line of defence (DESIGN.md): a point keyed (series, ts) that already exists is overwritten and counted.
  const rewriteReading = db.prepare<[number | string, number, number, number, number]>(
    'UPDATE readings SET value = ?, quality = ?, historical = ?, rewrites = rewrites + 1 WHERE series_id = ? AND ts = ?',
  );
  const upsertLatest = db.prepare<[number, number, number | string, number]>(
    `INSERT INTO latest (series_id, ts, value, quality) VALUES (?, ?, ?, ?)
     ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality
     WHERE excluded.ts >= latest.ts`,
  );
  const insertEvent = db.prepare<[string, string, string, string, number, number, number, string]>(
    `INSERT OR IGNORE INTO events (edge, device, type, severity, ts, received_at, historical, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // The first received_at is kept: it says when the alarm first reached the cloud.
  const rewriteEvent = db.prepare<[string, string, number, string, string, string, number]>(
    `UPDATE events SET edge = ?, severity = ?, historical = ?, data = ?, rewrites = rewrites + 1
     WHERE device = ? AND type = ? AND ts = ?`,
  );
  const cache = new Map<string, CachedSeries>();

  const writePoints = (batch: SinkBatch, recordState: RecordState): SinkWriteResult => {
    const { place } = batch;
    const historical = batch.historical ? 1 : 0;
    let rewrites = 0;
    const newest = new Map<number, number>();
    const readings = batch.readings;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const key = `${r.device}\u0000${r.metric}`;
      const valueType = valueTypeOf(r.value);
      let s = cache.get(key);
      if (s === undefined || s.unit !== r.unit || s.valueType !== valueType || s.station !== place.station) {
        const { id } = upsertSeries.get({
          device: r.device,
          metric: r.metric,
          unit: r.unit,
          ...place,
          valueType,
        })!;
        s = { id, unit: r.unit, valueType, station: place.station };
        cache.set(key, s);
      }
      const value = toColumn(r.value);
      const quality = QUALITY_CODE[r.quality];
      if (insertReading.run(s.id, r.ts, value, quality, historical).changes === 0) {
        rewriteReading.run(value, quality, historical, s.id, r.ts);
        rewrites++;
      }
      // A reading dated far in the future (or before the floor) must not pin `latest` above every later one.
      const believable = batch.believable;
      if (believable !== undefined && (r.ts < believable.from || r.ts > believable.to)) continue;
      const prev = newest.get(s.id);
      if (prev === undefined || readings[prev]!.ts <= r.ts) newest.set(s.id, i);
    }
    for (const [seriesId, i] of newest) {
      const r = readings[i]!;
      upsertLatest.run(seriesId, r.ts, toColumn(r.value), QUALITY_CODE[r.quality]);
    }
    for (const e of batch.events) {
      const data = JSON.stringify(e.data);
      const inserted = insertEvent.run(
        batch.edgeId,
        e.device,
        e.type,
        e.severity,
        e.ts,
        batch.receivedAt,
        historical,
        data,
      );
      if (inserted.changes === 0) {
        rewriteEvent.run(batch.edgeId, e.severity, historical, data, e.device, e.type, e.ts);
        rewrites++;
      }
    }
    recordState();
    return { readings: readings.length, events: batch.events.length, rewrites };
  };
  const writeBatch = db.transaction(writePoints);
  const writeGroup = db.transaction((items: readonly GroupItem[]) =>
    items.map((item) => writePoints(item.batch, item.recordState)),
  );

  const selectSeries = db.prepare<[string, string], { id: number; value_type: string }>(
    'SELECT id, value_type FROM series WHERE device = ? AND metric = ?',
  );
  // Bound as BigInt so SQLite sees INTEGERs (a JS number binds as REAL) and `/` is integer division:
  // bucket b covers [from + b·step, from + (b+1)·step).
  type BucketArgs = { from: bigint; to: bigint; step: bigint; id: number };
  const numericBuckets = db.prepare<
    BucketArgs,
    { b: number; min: number; max: number; mean: number; count: number }
  >(
    `SELECT (ts - @from) / @step AS b, min(value) AS min, max(value) AS max, avg(value) AS mean, count(*) AS count
       FROM readings WHERE series_id = @id AND ts >= @from AND ts < @to GROUP BY b ORDER BY b`,
  );
  const countBuckets = db.prepare<BucketArgs, { b: number; count: number }>(
    `SELECT (ts - @from) / @step AS b, count(*) AS count
       FROM readings WHERE series_id = @id AND ts >= @from AND ts < @to GROUP BY b ORDER BY b`,
  );

  // NULL is normal (N), as most readings are: the column costs nothing for them.
  const updateFlag = db.prepare<[string | null, string, string, number]>(
    `UPDATE readings SET flag = ?
      WHERE series_id = (SELECT id FROM series WHERE device = ? AND metric = ?) AND ts = ?`,
  );
  const writeFlags = db.transaction((flags: readonly FlagWrite[]) => {
    for (const f of flags) updateFlag.run(f.flag === 'N' ? null : f.flag, f.device, f.metric, f.ts);
  });
  const selectTimes = db.prepare<[string, string, number, number], { ts: number }>(
    `SELECT r.ts FROM readings r JOIN series s ON s.id = r.series_id
      WHERE s.device = ? AND s.metric = ? AND r.ts >= ? AND r.ts < ? ORDER BY r.ts`,
  );

  return {
    name: 'sqlite',
    atomicWithState: true,
    countsRewrites: true,
    async commitBatch(batch, recordState) {
      try {
        return writeBatch(batch, recordState);
      } catch (err) {
        // The rollback may have undone series rows the cache already holds.
        cache.clear();
        throw err;
      }
    },
    async commitGroup(items) {
      try {
        return writeGroup(items);
      } catch (err) {
        cache.clear();
        throw err;
      }
    },
    async latest(filter) {
      const where: string[] = [];
      const params: string[] = [];
      if (filter.device !== undefined) {
        where.push('s.device = ?');
        params.push(filter.device);
      }
      if (filter.station !== undefined) {
        where.push('s.station = ?');
        params.push(filter.station);
      }
      const rows = db
        .prepare<
          string[],
          {
            device: string;
            metric: string;
            unit: string;
            station: string | null;
            value_type: string;
            ts: number;
            value: number | string;
            quality: number;
          }
        >(
          `SELECT s.device, s.metric, s.unit, s.station, s.value_type, l.ts, l.value, l.quality
             FROM latest l JOIN series s ON s.id = l.series_id
             ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.device, s.metric`,
        )
        .all(...params);
      return rows.map(
        (r): LatestValue => ({
          device: r.device,
          metric: r.metric,
          unit: r.unit,
          ts: r.ts,
          value: fromColumn(r.value, r.value_type),
          quality: QUALITY_BY_CODE[r.quality] ?? 'bad',
          station: r.station,
        }),
      );
    },
    async series(q: SeriesQuery): Promise<SeriesBucket[] | undefined> {
      const s = selectSeries.get(q.device, q.metric);
      if (s === undefined) return undefined;
      const args: BucketArgs = { from: BigInt(q.from), to: BigInt(q.to), step: BigInt(q.stepMs), id: s.id };
      if (s.value_type === 'string') {
        return countBuckets
          .all(args)
          .map((r) => ({ t: q.from + r.b * q.stepMs, min: null, max: null, mean: null, count: r.count }));
      }
      return numericBuckets.all(args).map((r) => ({
        t: q.from + r.b * q.stepMs,
        min: r.min,
        max: r.max,
        mean: r.mean,
        count: r.count,
      }));
    },
    async events(q: EventQuery): Promise<StoredEvent[]> {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (q.device !== undefined) {
        where.push('device = ?');
        params.push(q.device);
      }
      if (q.type !== undefined) {
        where.push('type = ?');
        params.push(q.type);
      }
      if (q.from !== undefined) {
        where.push('ts >= ?');
        params.push(q.from);
      }
      if (q.to !== undefined) {
        where.push('ts < ?');
        params.push(q.to);
      }
      params.push(q.limit);
      const rows = db
        .prepare<
          (string | number)[],
          {
            edge: string;
            device: string;
            type: string;
            severity: Severity;
            ts: number;
            received_at: number;
            historical: number;
            data: string;
          }
        >(
          `SELECT edge, device, type, severity, ts, received_at, historical, data FROM events
           ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT ?`,
        )
        .all(...params);
      return rows.map((r) => ({
        edge: r.edge,
        device: r.device,
        type: r.type,
        severity: r.severity,
        ts: r.ts,
        receivedAt: r.received_at,
        historical: r.historical === 1,
        data: JSON.parse(r.data) as DeviceEvent['data'],
      }));
    },
    async setFlags(_place, flags) {
      writeFlags(flags);
    },
    async readingTimes(device, metric, from, to) {
      return selectTimes.all(device, metric, from, to).map((r) => r.ts);
    },
    // The database belongs to the cloud (it also holds the registry and dedupe state): it closes it.
    async close() {},
  };
}

/**
 * `readings.flag`: the HJ 212-style data flag quality control gave the reading (NULL = N). Added in
 * place to databases made before it (issue 16): SQLite adds a nullable column without a rewrite.
 */
function addFlagColumn(db: Db): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(readings)').all();
  if (!columns.some((c) => c.name === 'flag')) db.exec('ALTER TABLE readings ADD COLUMN flag TEXT');
}

/** Replaces each `latest` row outside `range` by its series' newest reading inside it (or none). */
function repairLatest(db: Db, range: { from: number; to: number }): void {
  const pinned = db
    .prepare<[number, number], { series_id: number }>('SELECT series_id FROM latest WHERE ts > ? OR ts < ?')
    .all(range.to, range.from);
  if (pinned.length === 0) return;
  const drop = db.prepare<[number]>('DELETE FROM latest WHERE series_id = ?');
  // The (series_id, ts) primary key makes this a short index walk per series.
  const refill = db.prepare<[number, number, number]>(
    `INSERT INTO latest (series_id, ts, value, quality)
     SELECT series_id, ts, value, quality FROM readings
     WHERE series_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
  );
  db.transaction(() => {
    for (const { series_id } of pinned) {
      drop.run(series_id);
      refill.run(series_id, range.from, range.to);
    }
  })();
}
