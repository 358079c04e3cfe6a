import type { Value } from '@village/protocol';
import type { Db } from '../store/open-database.js';
import type { SinkBatch } from './sink.js';

export type CatalogValueType = 'number' | 'boolean' | 'string';

export interface CatalogSeries {
  device: string;
  metric: string;
  unit: string;
  valueType: CatalogValueType;
  station: string | null;
  /** Every measurement the series was written to (more than one only if the device's kind changed). */
  measurements: string[];
}

/**
 * What InfluxDB cannot answer cheaply: which (device, metric) series exist, their unit and value
 * type, and which measurement(s) hold them. The history reads it to know which fields to ask for
 * and how to type them back; a series not in it was never written. Updated before the points are
 * written (a crash in between leaves a catalog row with no points, never points with no row).
 * One host: cloud.db, beside the seq state, shared by its workers (`openSeriesCatalog`). Several
 * hosts: PostgreSQL (shared-store/postgres-series-catalog.ts), so every host lists what any wrote.
 * Async, as PostgreSQL is across the network; cloud.db's stays synchronous inside.
 */
export interface SeriesCatalog {
  /**
   * Records the series of a group of batches (one transaction; one statement on PostgreSQL), or
   * nothing when this process already recorded them all. `measurementOf` is the device's
   * measurement for this write.
   */
  note(batches: readonly SinkBatch[], measurementOf: (device: string) => string): Promise<void>;
  find(device: string, metric: string): Promise<CatalogSeries | undefined>;
  /** Ordered by device, then metric (byte order). */
  list(filter: { device?: string; station?: string }): Promise<CatalogSeries[]>;
}

/** One series row to record: `type` undefined when only a bad reading named it. */
export interface CatalogRow {
  device: string;
  metric: string;
  unit: string;
  type: CatalogValueType | undefined;
  station: string | null;
  measurement: string;
}

/**
 * The rows `batches` would record that are not in `known` (what this process already recorded),
 * in order, each once, with the keys to add to `known` once they are written.
 */
export function newCatalogRows(
  batches: readonly SinkBatch[],
  measurementOf: (device: string) => string,
  known: ReadonlySet<string>,
): { rows: CatalogRow[]; keys: Set<string> } {
  const rows: CatalogRow[] = [];
  const keys = new Set<string>();
  for (const batch of batches) {
    const station = batch.place.station;
    for (const r of batch.readings) {
      const type = valueTypeOf(r.value, r.quality);
      const measurement = measurementOf(r.device);
      const key = `${r.device}\u0000${r.metric}\u0000${r.unit}\u0000${type}\u0000${station}\u0000${measurement}`;
      if (known.has(key) || keys.has(key)) continue;
      keys.add(key);
      rows.push({ device: r.device, metric: r.metric, unit: r.unit, type, station, measurement });
    }
  }
  return { rows, keys };
}

function valueTypeOf(v: Value, quality: string): CatalogValueType | undefined {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  // A bad reading's string is the error name: it says nothing about the series' own type.
  return quality === 'bad' ? undefined : 'string';
}

export function openSeriesCatalog(db: Db): SeriesCatalog {
  db.exec(`
    CREATE TABLE IF NOT EXISTS influx_series (
      device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL, value_type TEXT NOT NULL,
      station TEXT, PRIMARY KEY (device, metric)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS influx_series_measurements (
      device TEXT NOT NULL, metric TEXT NOT NULL, measurement TEXT NOT NULL,
      PRIMARY KEY (device, metric, measurement)) WITHOUT ROWID;
  `);
  const upsert = db.prepare<[string, string, string, string, string | null]>(
    `INSERT INTO influx_series (device, metric, unit, value_type, station) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (device, metric) DO UPDATE SET unit = excluded.unit, value_type = excluded.value_type,
       station = excluded.station`,
  );
  // A series first heard of through a bad reading: its type is unknown until a good one arrives.
  const insertUntyped = db.prepare<[string, string, string, string | null]>(
    `INSERT INTO influx_series (device, metric, unit, value_type, station) VALUES (?, ?, ?, 'number', ?)
     ON CONFLICT (device, metric) DO NOTHING`,
  );
  const addMeasurement = db.prepare<[string, string, string]>(
    'INSERT OR IGNORE INTO influx_series_measurements (device, metric, measurement) VALUES (?, ?, ?)',
  );
  type Row = {
    device: string;
    metric: string;
    unit: string;
    value_type: CatalogValueType;
    station: string | null;
    measurements: string;
  };
  const select = `SELECT s.device, s.metric, s.unit, s.value_type, s.station,
      (SELECT group_concat(measurement, char(0)) FROM influx_series_measurements m
        WHERE m.device = s.device AND m.metric = s.metric) AS measurements
    FROM influx_series s`;
  const findOne = db.prepare<[string, string], Row>(`${select} WHERE s.device = ? AND s.metric = ?`);
  const toSeries = (r: Row): CatalogSeries => ({
    device: r.device,
    metric: r.metric,
    unit: r.unit,
    valueType: r.value_type,
    station: r.station,
    measurements: r.measurements ? r.measurements.split('\u0000') : [],
  });
  // What this process already wrote to the catalog: most batches change nothing and cost no write.
  const known = new Set<string>();
  const write = db.transaction((rows: CatalogRow[]) => {
    for (const r of rows) {
      if (r.type === undefined) insertUntyped.run(r.device, r.metric, r.unit, r.station);
      else upsert.run(r.device, r.metric, r.unit, r.type, r.station);
      addMeasurement.run(r.device, r.metric, r.measurement);
    }
  });

  return {
    async note(batches, measurementOf) {
      const { rows, keys } = newCatalogRows(batches, measurementOf, known);
      if (rows.length === 0) return;
      write(rows);
      for (const k of keys) known.add(k);
    },
    async find(device, metric) {
      const r = findOne.get(device, metric);
      return r === undefined ? undefined : toSeries(r);
    },
    async list(filter) {
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
      return db
        .prepare<string[], Row>(
          `${select} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.device, s.metric`,
        )
        .all(...params)
        .map(toSeries);
    },
  };
}
