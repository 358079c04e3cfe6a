import type pg from 'pg';
import {
  type AqiSampleRow,
  type AqiStore,
  type SampleScope,
  type StoredSample,
  dueMarksOf,
  hoursOf,
} from '../rules-runtime/aqi-store.js';
import type { PublishedRow } from '../rules-runtime/hourly-aqi-publisher.js';
import {
  type AuditEntry,
  type AuditRowDb,
  type FlagRowDb,
  type QualityStore,
  type WindowRowDb,
  auditOf,
  flagOfRow,
  windowColumns,
  windowOf,
} from '../rules-runtime/quality-store.js';
import type { Query } from './postgres-query.js';

/** One transaction on one connection (postgres-shared-store.ts `tx`). */
type Tx = <T>(work: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

/**
 * Quality control and the published AQI in PostgreSQL (`store.kind: postgres`, several hosts):
 * the holder of a village judges its batches and records their samples here, an officer's window
 * or invalidation through any host lands here, and any host publishes a due hour (once: the due
 * row is locked, SKIP LOCKED, in the transaction that publishes it). The same columns as cloud.db's
 * `qc_*` (rules-runtime/quality-store.ts) and `aqi_*` (rules-runtime/aqi-store.ts) tables.
 */
export const AIR_QUALITY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_qc_flags (
    device TEXT NOT NULL, metric TEXT NOT NULL, ts BIGINT NOT NULL, station TEXT,
    auto_flag TEXT NOT NULL, flag TEXT NOT NULL, reasons TEXT NOT NULL,
    PRIMARY KEY (device, metric, ts));
  CREATE INDEX IF NOT EXISTS shared_qc_flags_by_station ON shared_qc_flags (station, ts);
  CREATE TABLE IF NOT EXISTS shared_qc_windows (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL,
    device TEXT, station TEXT, metrics TEXT, reason TEXT, actor TEXT NOT NULL, created_at BIGINT NOT NULL,
    removed_at BIGINT, removed_by TEXT);
  CREATE TABLE IF NOT EXISTS shared_qc_audit (
    id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    device TEXT, metric TEXT, station TEXT, from_ts BIGINT, to_ts BIGINT, flag TEXT,
    reason TEXT NOT NULL, readings INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX IF NOT EXISTS shared_qc_audit_by_station ON shared_qc_audit (station, at);
  CREATE UNIQUE INDEX IF NOT EXISTS shared_qc_audit_auto ON shared_qc_audit (device, metric, from_ts)
    WHERE action = 'auto';
  CREATE INDEX IF NOT EXISTS shared_qc_audit_officers ON shared_qc_audit (id) WHERE action <> 'auto';
  CREATE TABLE IF NOT EXISTS shared_qc_devices (
    device TEXT PRIMARY KEY, county TEXT, town TEXT, village TEXT, station TEXT);
  CREATE TABLE IF NOT EXISTS shared_aqi_samples (
    device TEXT NOT NULL, metric TEXT NOT NULL, ts BIGINT NOT NULL, station TEXT NOT NULL,
    pollutant TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, flag TEXT NOT NULL,
    PRIMARY KEY (device, metric, ts));
  CREATE INDEX IF NOT EXISTS shared_aqi_samples_by_station ON shared_aqi_samples (station, ts);
  CREATE TABLE IF NOT EXISTS shared_aqi_published (
    kind TEXT NOT NULL, station TEXT NOT NULL, start BIGINT NOT NULL, village TEXT, row TEXT NOT NULL,
    published_at BIGINT NOT NULL, PRIMARY KEY (kind, station, start));
  CREATE TABLE IF NOT EXISTS shared_aqi_due (
    kind TEXT NOT NULL, station TEXT NOT NULL, start BIGINT NOT NULL,
    PRIMARY KEY (kind, station, start));
`;

/** BIGINT columns come back as strings. */
function nums<T extends object>(row: T, keys: readonly string[]): T {
  const r = row as Record<string, unknown>;
  for (const k of keys) if (r[k] !== null && r[k] !== undefined) r[k] = Number(r[k]);
  return row;
}
const AUDIT_NUMS = ['id', 'at', 'from_ts', 'to_ts', 'readings'];
const WINDOW_NUMS = ['from_ts', 'to_ts', 'created_at', 'removed_at'];

/** `column = $n` for each given value, numbered after `params`. */
function whereOf(params: unknown[], conds: [string, unknown][]): string[] {
  const out: string[] = [];
  for (const [sql, v] of conds) {
    if (v === undefined) continue;
    params.push(v);
    out.push(`${sql} $${params.length}`);
  }
  return out;
}

/** The last of each key: one INSERT … ON CONFLICT DO UPDATE may not touch a row twice. */
function lastByKey<T extends { device: string; metric: string; ts: number }>(rows: readonly T[]): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(`${r.device}\u0000${r.metric}\u0000${r.ts}`, r);
  return [...m.values()];
}

async function insertAudits(c: pg.PoolClient, audits: readonly Omit<AuditEntry, 'id'>[], onlyNew: boolean) {
  if (audits.length === 0) return [];
  const col = <K extends keyof Omit<AuditEntry, 'id'>>(k: K) => audits.map((a) => a[k]);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO shared_qc_audit (at, actor, action, device, metric, station, from_ts, to_ts, flag, reason, readings)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::int[])
     ${onlyNew ? "ON CONFLICT (device, metric, from_ts) WHERE action = 'auto' DO NOTHING" : ''}
     RETURNING id`,
    [
      col('at'),
      col('actor'),
      col('action'),
      col('device'),
      col('metric'),
      col('station'),
      col('from'),
      col('to'),
      col('flag'),
      col('reason'),
      col('readings'),
    ],
  );
  return rows.map((r) => Number(r.id));
}

export function postgresQuality(q: Query, tx: Tx): QualityStore {
  const knownPlaces = new Map<string, string>();
  return {
    putAuto: (rows, audits) =>
      tx(async (c) => {
        const list = lastByKey(rows);
        if (list.length > 0)
          // An automatic flag never replaces an officer's: a replayed reading keeps the flag in effect.
          await c.query(
            `INSERT INTO shared_qc_flags (device, metric, ts, station, auto_flag, flag, reasons)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
             ON CONFLICT (device, metric, ts) DO UPDATE SET auto_flag = excluded.auto_flag, reasons = excluded.reasons`,
            [
              list.map((r) => r.device),
              list.map((r) => r.metric),
              list.map((r) => r.ts),
              list.map((r) => r.station),
              list.map((r) => r.autoFlag),
              list.map((r) => r.flag),
              list.map((r) => JSON.stringify(r.reasons)),
            ],
          );
        await insertAudits(c, audits, true);
      }),
    async flags(f) {
      const params: unknown[] = [];
      const where = whereOf(params, [
        ['device =', f.device],
        ['station =', f.station],
        ['metric =', f.metric],
        ['ts >=', f.from],
        ['ts <', f.to],
      ]);
      if (f.notNormal) where.push("flag <> 'N'");
      params.push(f.limit);
      const rows = await q<FlagRowDb>(
        `SELECT * FROM shared_qc_flags ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY ts DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map((r) => flagOfRow(nums(r, ['ts'])));
    },
    async setFlags(readings, flag) {
      const list = lastByKey(readings);
      if (list.length === 0) return;
      await q(
        `INSERT INTO shared_qc_flags (device, metric, ts, station, auto_flag, flag, reasons)
         SELECT d, m, t, s, 'N', $5, '[]' FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(d, m, t, s)
         ON CONFLICT (device, metric, ts) DO UPDATE SET flag = excluded.flag`,
        [
          list.map((r) => r.device),
          list.map((r) => r.metric),
          list.map((r) => r.ts),
          list.map((r) => r.station),
          flag,
        ],
      );
    },
    async overrides() {
      const rows = await q<AuditRowDb>(
        `SELECT * FROM shared_qc_audit WHERE action IN ('invalidate', 'restore') ORDER BY id`,
      );
      return rows.map((r) => auditOf(nums(r, AUDIT_NUMS)));
    },
    async audit(f) {
      const params: unknown[] = [];
      const where = whereOf(params, [
        ['station =', f.station],
        ['device =', f.device],
        ['at >=', f.from],
        ['at <', f.to],
      ]);
      params.push(f.limit);
      const rows = await q<AuditRowDb>(
        `SELECT * FROM shared_qc_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map((r) => auditOf(nums(r, AUDIT_NUMS)));
    },
    addAudit: (e) =>
      tx(async (c) => {
        const [id] = await insertAudits(c, [e], false);
        return { id: id!, ...e };
      }),
    async windows(activeOnly) {
      const rows = await q<WindowRowDb>(
        `SELECT * FROM shared_qc_windows ${activeOnly ? 'WHERE removed_at IS NULL' : ''} ORDER BY from_ts, id`,
      );
      return rows.map((r) => windowOf(nums(r, WINDOW_NUMS)));
    },
    putWindow: (w, audit) =>
      tx(async (c) => {
        const v = windowColumns(w);
        await c.query(
          `INSERT INTO shared_qc_windows (id, kind, from_ts, to_ts, device, station, metrics, reason, actor, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [v.id, v.kind, v.from, v.to, v.device, v.station, v.metrics, v.reason, v.actor, v.createdAt],
        );
        await insertAudits(c, [audit], false);
      }),
    removeWindow: (id, actor, at, audit) =>
      tx(async (c) => {
        const { rows } = await c.query<WindowRowDb>(
          `UPDATE shared_qc_windows SET removed_at = $1, removed_by = $2 WHERE id = $3 AND removed_at IS NULL
           RETURNING *`,
          [at, actor, id],
        );
        if (rows[0] === undefined) return undefined;
        const w = windowOf(nums(rows[0], WINDOW_NUMS));
        await insertAudits(c, [audit(w)], false);
        return w;
      }),
    async notePlace(device, place) {
      const key = `${place.county}|${place.town}|${place.village}|${place.station}`;
      if (knownPlaces.get(device) === key) return;
      // Noted before the write: a batch's other readings of the device wait on this one write
      // (the batch's writes are awaited together), not make one each.
      knownPlaces.set(device, key);
      try {
        await q(
          `INSERT INTO shared_qc_devices (device, county, town, village, station) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (device) DO UPDATE SET county = excluded.county, town = excluded.town,
             village = excluded.village, station = excluded.station`,
          [device, place.county, place.town, place.village, place.station],
        );
      } catch (err) {
        if (knownPlaces.get(device) === key) knownPlaces.delete(device);
        throw err;
      }
    },
    async placeOf(device) {
      const [r] = await q<{
        county: string | null;
        town: string | null;
        village: string | null;
        station: string | null;
      }>('SELECT county, town, village, station FROM shared_qc_devices WHERE device = $1', [device]);
      return r;
    },
    async devicesAt(station) {
      const rows = await q<{ device: string }>('SELECT device FROM shared_qc_devices WHERE station = $1', [
        station,
      ]);
      return rows.map((r) => r.device);
    },
    async version() {
      const [r] = await q<{ n: string }>("SELECT count(*) AS n FROM shared_qc_audit WHERE action <> 'auto'");
      return Number(r!.n);
    },
  };
}

/**
 * Marks due what new or re-flagged samples at these hours touch (aqi-store.ts `dueMarksOf`).
 * DO UPDATE, not DO NOTHING: it waits for a publisher holding the due row, so a sample added while
 * its hour is being published makes the hour due again after, rather than being left out.
 */
async function markDue(c: pg.PoolClient, station: string, hours: readonly number[]): Promise<void> {
  for (const hour of hours) {
    const m = dueMarksOf(hour);
    await c.query(
      `INSERT INTO shared_aqi_due (kind, station, start)
       SELECT 'hourly', $1::text, $2::bigint UNION SELECT 'daily', $1::text, $3::bigint
       UNION SELECT 'hourly', station, start FROM shared_aqi_published
              WHERE kind = 'hourly' AND station = $1::text AND start >= $4::bigint AND start < $5::bigint
       ORDER BY 1, 3
       ON CONFLICT (kind, station, start) DO UPDATE SET start = excluded.start`,
      [station, m.hour, m.day, m.laterFrom, m.laterTo],
    );
  }
}

export function postgresAqi(q: Query, tx: Tx): AqiStore {
  return {
    addSamples: (station, samples: readonly AqiSampleRow[]) =>
      tx(async (c) => {
        const list = lastByKey(samples);
        const { rows } = await c.query<{ ts: string }>(
          `INSERT INTO shared_aqi_samples (device, metric, ts, station, pollutant, value, flag)
           SELECT d, m, t, $1, p, v, f
             FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::float8[], $7::text[]) AS u(d, m, t, p, v, f)
           ON CONFLICT (device, metric, ts) DO NOTHING RETURNING ts`,
          [
            station,
            list.map((s) => s.device),
            list.map((s) => s.metric),
            list.map((s) => s.ts),
            list.map((s) => s.pollutant),
            list.map((s) => s.value),
            list.map((s) => s.flag),
          ],
        );
        await markDue(
          c,
          station,
          hoursOf(rows.map((r) => Number(r.ts))).sort((a, b) => a - b),
        );
      }),
    setFlags: (scope: SampleScope, flag) =>
      tx(async (c) => {
        const params: unknown[] = [flag];
        const where = whereOf(params, [
          ['ts >=', scope.from],
          ['ts <', scope.to],
          ['device =', scope.device],
          ['station =', scope.station],
          ['metric =', scope.metric],
        ]);
        if (scope.metrics !== undefined) {
          params.push([...scope.metrics]);
          where.push(`metric = ANY($${params.length}::text[])`);
        }
        const { rows } = await c.query<{ station: string; ts: string }>(
          `UPDATE shared_aqi_samples SET flag = $1 WHERE ${where.join(' AND ')} RETURNING station, ts`,
          params,
        );
        const byStation = new Map<string, number[]>();
        for (const r of rows) byStation.set(r.station, [...(byStation.get(r.station) ?? []), Number(r.ts)]);
        for (const station of [...byStation.keys()].sort())
          await markDue(
            c,
            station,
            hoursOf(byStation.get(station)!).sort((a, b) => a - b),
          );
      }),
    async due(kind, before) {
      const rows = await q<{ station: string; start: string }>(
        'SELECT station, start FROM shared_aqi_due WHERE kind = $1 AND start <= $2 ORDER BY start, station',
        [kind, before],
      );
      return rows.map((r) => ({ station: r.station, start: Number(r.start) }));
    },
    publish: (d, compute) =>
      tx(async (c) => {
        // Being published by another host (locked) or published already (gone): not this host's.
        const { rows: due } = await c.query(
          'SELECT 1 FROM shared_aqi_due WHERE kind = $1 AND station = $2 AND start = $3 FOR UPDATE SKIP LOCKED',
          [d.kind, d.station, d.start],
        );
        if (due.length === 0) return undefined;
        const { rows } = await c.query<StoredSample>(
          `SELECT device, pollutant, ts, value, flag FROM shared_aqi_samples
            WHERE station = $1 AND ts >= $2 AND ts < $3`,
          [d.station, d.from, d.end],
        );
        const row = compute(rows.map((r) => nums(r, ['ts'])));
        await c.query(
          `INSERT INTO shared_aqi_published (kind, station, start, village, row, published_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (kind, station, start) DO UPDATE SET village = excluded.village, row = excluded.row,
             published_at = excluded.published_at`,
          [d.kind, d.station, d.start, row.village, JSON.stringify(row), row.publishedAt],
        );
        await c.query('DELETE FROM shared_aqi_due WHERE kind = $1 AND station = $2 AND start = $3', [
          d.kind,
          d.station,
          d.start,
        ]);
        return row;
      }),
    async list(f) {
      const params: unknown[] = [f.kind];
      const where = ['kind = $1'];
      where.push(
        ...whereOf(params, [
          ['station =', f.station],
          ['start >=', f.from],
          ['start <', f.to],
        ]),
      );
      if (f.villages !== 'all') {
        params.push([...f.villages]);
        where.push(`village = ANY($${params.length}::text[])`);
      }
      params.push(f.limit);
      const rows = await q<{ row: string }>(
        `SELECT row FROM shared_aqi_published WHERE ${where.join(' AND ')}
          ORDER BY start DESC, station LIMIT $${params.length}`,
        params,
      );
      return rows.map((r) => JSON.parse(r.row) as PublishedRow);
    },
    async sampleCounts(station, from, to) {
      const [r] = await q<{ total: string; flagged: string }>(
        `SELECT count(*) AS total, count(*) FILTER (WHERE flag <> 'N') AS flagged FROM shared_aqi_samples
          WHERE station = $1 AND ts >= $2 AND ts < $3`,
        [station, from, to],
      );
      return { total: Number(r!.total), flagged: Number(r!.flagged) };
    },
    async latest() {
      const rows = await q<{ row: string }>(
        `SELECT DISTINCT ON (station) row FROM shared_aqi_published WHERE kind = 'hourly'
          ORDER BY station, start DESC`,
      );
      return rows.map((r) => JSON.parse(r.row) as PublishedRow);
    },
  };
}
