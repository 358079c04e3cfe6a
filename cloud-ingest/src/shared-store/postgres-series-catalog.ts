import {
  type CatalogRow,
  type CatalogSeries,
  type CatalogValueType,
  type SeriesCatalog,
  newCatalogRows,
} from '../sink/influx-series-catalog.js';
import type { Query } from './postgres-query.js';

/**
 * The InfluxDB sink's series catalog in PostgreSQL (`store.kind: postgres`): the shared
 * subscription spreads an edge's batches over the hosts, so a series one host wrote must be in
 * every host's `/api/v1/series`, `latest` and history. The same two tables and meaning as cloud.db's
 * (sink/influx-series-catalog.ts).
 */
export const SERIES_CATALOG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS influx_series (
    device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL, value_type TEXT NOT NULL,
    station TEXT, PRIMARY KEY (device, metric));
  CREATE TABLE IF NOT EXISTS influx_series_measurements (
    device TEXT NOT NULL, metric TEXT NOT NULL, measurement TEXT NOT NULL,
    PRIMARY KEY (device, metric, measurement));
`;

/**
 * One statement, so one round trip per group (atomic on its own). A series row is upserted with
 * its unit, type and station, as cloud.db's is; one first heard of through a bad reading only
 * (untyped: the error name says nothing of the series' type) is inserted as 'number' if absent
 * and never changes an existing row (the DO UPDATE's WHERE names the typed rows). Rows are
 * written in byte order of their keys, by every host, so two hosts' groups wait for each other
 * instead of deadlocking.
 */
const NOTE = `
  WITH series AS (
    INSERT INTO influx_series AS s (device, metric, unit, value_type, station)
    SELECT u.device, u.metric, u.unit, COALESCE(u.value_type, 'number'), u.station
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        AS u(device, metric, unit, value_type, station)
     ORDER BY u.device COLLATE "C", u.metric COLLATE "C"
    ON CONFLICT (device, metric) DO UPDATE
      SET unit = EXCLUDED.unit, value_type = EXCLUDED.value_type, station = EXCLUDED.station
      WHERE (EXCLUDED.device, EXCLUDED.metric) IN (
        SELECT t.device, t.metric FROM unnest($1::text[], $2::text[], $4::text[]) AS t(device, metric, value_type)
         WHERE t.value_type IS NOT NULL))
  INSERT INTO influx_series_measurements (device, metric, measurement)
  SELECT * FROM unnest($6::text[], $7::text[], $8::text[]) AS m(device, metric, measurement)
   ORDER BY m.device COLLATE "C", m.metric COLLATE "C", m.measurement COLLATE "C"
  ON CONFLICT DO NOTHING`;

const SELECT = `SELECT s.device, s.metric, s.unit, s.value_type, s.station,
    ARRAY(SELECT m.measurement FROM influx_series_measurements m
           WHERE m.device = s.device AND m.metric = s.metric
           ORDER BY m.measurement COLLATE "C") AS measurements
  FROM influx_series s`;

interface Row {
  device: string;
  metric: string;
  unit: string;
  value_type: CatalogValueType;
  station: string | null;
  measurements: string[];
}

const toSeries = (r: Row): CatalogSeries => ({
  device: r.device,
  metric: r.metric,
  unit: r.unit,
  valueType: r.value_type,
  station: r.station,
  measurements: r.measurements,
});

/**
 * What one statement writes for `rows` (in batch order): per series, as cloud.db's row-by-row
 * writes would leave it — the last typed row's unit, type and station, else the first untyped
 * row's (inserted only if absent); each measurement once. ON CONFLICT DO UPDATE may touch a row
 * only once per statement, hence one row per series.
 */
function collapse(rows: readonly CatalogRow[]) {
  const series = new Map<string, CatalogRow>();
  const measurements = new Map<string, CatalogRow>();
  for (const r of rows) {
    const key = `${r.device}\u0000${r.metric}`;
    const prev = series.get(key);
    if (prev === undefined || r.type !== undefined) series.set(key, r);
    measurements.set(`${key}\u0000${r.measurement}`, r);
  }
  return { series: [...series.values()], measurements: [...measurements.values()] };
}

export function postgresSeriesCatalog(q: Query): SeriesCatalog {
  // What this process already wrote to the catalog: most groups change nothing and cost no query.
  const known = new Set<string>();
  return {
    async note(batches, measurementOf) {
      const { rows, keys } = newCatalogRows(batches, measurementOf, known);
      if (rows.length === 0) return;
      const { series, measurements } = collapse(rows);
      await q(NOTE, [
        series.map((r) => r.device),
        series.map((r) => r.metric),
        series.map((r) => r.unit),
        series.map((r) => r.type ?? null),
        series.map((r) => r.station),
        measurements.map((r) => r.device),
        measurements.map((r) => r.metric),
        measurements.map((r) => r.measurement),
      ]);
      for (const k of keys) known.add(k);
    },
    async find(device, metric) {
      const [r] = await q<Row>(`${SELECT} WHERE s.device = $1 AND s.metric = $2`, [device, metric]);
      return r === undefined ? undefined : toSeries(r);
    },
    async list(filter) {
      const where: string[] = [];
      const params: string[] = [];
      if (filter.device !== undefined) {
        params.push(filter.device);
        where.push(`s.device = $${params.length}`);
      }
      if (filter.station !== undefined) {
        params.push(filter.station);
        where.push(`s.station = $${params.length}`);
      }
      const rows = await q<Row>(
        `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY s.device COLLATE "C", s.metric COLLATE "C"`,
        params,
      );
      return rows.map(toSeries);
    },
  };
}
