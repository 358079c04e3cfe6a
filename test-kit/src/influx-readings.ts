import type { Influxd } from './influxd.js';

/**
 * Every reading stored in `db`, as `device|metric|ts` → value, read back with InfluxQL: for each
 * measurement except `events`, every row's non-null fields that are metrics (not `_q`/`_error`/`_flag`).
 * Also returns count() per field as InfluxDB computes it, to compare with the row walk.
 */
export async function influxReadings(
  influxd: Influxd,
  db: string,
): Promise<{ points: Map<string, unknown>; count: number }> {
  const [m] = await influxd.query('SHOW MEASUREMENTS', db);
  const measurements = (m?.series?.[0]?.values ?? [])
    .map((v) => v[0] as string)
    .filter((n) => n !== 'events');
  const points = new Map<string, unknown>();
  let count = 0;
  for (const name of measurements) {
    const [rows] = await influxd.query(`SELECT * FROM "${name}"`, db);
    const [counts] = await influxd.query(`SELECT count(*) FROM "${name}"`, db);
    for (const s of rows?.series ?? []) {
      const cols = s.columns;
      const deviceCol = cols.indexOf('device');
      for (const row of s.values) {
        cols.forEach((c, i) => {
          if (i === 0 || ['county', 'town', 'village', 'station', 'device'].includes(c)) return;
          if (c.endsWith('_q') || c.endsWith('_error') || c.endsWith('_flag') || row[i] === null) return;
          points.set(`${row[deviceCol]}|${c}|${row[0]}`, row[i]);
        });
      }
    }
    const c = counts?.series?.[0];
    if (c) {
      c.columns.forEach((col, i) => {
        if (
          col.startsWith('count_') &&
          !col.endsWith('_q') &&
          !col.endsWith('_error') &&
          !col.endsWith('_flag')
        )
          count += c.values[0]![i] as number;
      });
    }
  }
  return { points, count };
}
