import type { DataFlag, OperatorWindow, QcReason } from '@village/rules';
import type { PlaceTags } from '../sink/sink.js';
import type { Db } from '../store/open-database.js';

/**
 * The quality-control tables in cloud.db (one source of truth for flags; the sinks carry a copy
 * beside each reading for queries):
 *   qc_flags    one row per reading whose flag is not N or was ever changed by an officer:
 *               its automatic flag and reasons, and the flag in effect
 *   qc_windows  maintenance and calibration windows operators set (removed ones kept, dated)
 *   qc_audit    every flag change: automatic flags, invalidations, restores, windows set and
 *               removed — who, when, why, what. Invalidations and restores are also the
 *               overrides: the newest one covering a reading decides its flag.
 *   qc_devices  where each device was last heard from (its place tags), to write flags to the
 *               sink with the reading's own tags
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS qc_flags (
    device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, station TEXT,
    auto_flag TEXT NOT NULL, flag TEXT NOT NULL, reasons JSON NOT NULL,
    PRIMARY KEY (device, metric, ts)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS qc_flags_by_station ON qc_flags (station, ts);
  CREATE TABLE IF NOT EXISTS qc_windows (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL,
    device TEXT, station TEXT, metrics JSON, reason TEXT, actor TEXT NOT NULL, created_at INTEGER NOT NULL,
    removed_at INTEGER, removed_by TEXT);
  CREATE TABLE IF NOT EXISTS qc_audit (
    id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    device TEXT, metric TEXT, station TEXT, from_ts INTEGER, to_ts INTEGER, flag TEXT,
    reason TEXT NOT NULL, readings INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX IF NOT EXISTS qc_audit_by_station ON qc_audit (station, at);
  CREATE INDEX IF NOT EXISTS qc_audit_auto ON qc_audit (device, metric, from_ts) WHERE action = 'auto';
  CREATE INDEX IF NOT EXISTS qc_audit_officers ON qc_audit (id) WHERE action <> 'auto';
  CREATE TABLE IF NOT EXISTS qc_devices (
    device TEXT PRIMARY KEY, county TEXT, town TEXT, village TEXT, station TEXT);
`;

export type AuditAction = 'auto' | 'invalidate' | 'restore' | 'window_set' | 'window_removed';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: AuditAction;
  device: string | null;
  metric: string | null;
  station: string | null;
  from: number | null;
  to: number | null;
  flag: DataFlag | null;
  reason: string;
  readings: number;
}

export interface FlagRow {
  device: string;
  metric: string;
  ts: number;
  station: string | null;
  autoFlag: DataFlag;
  flag: DataFlag;
  reasons: QcReason[];
}

/** What an invalidation or restore covers: a device or a station, optionally one metric, [from, to). */
export interface FlagScope {
  device?: string;
  station?: string;
  metric?: string;
  from: number;
  to: number;
}

export interface StoredWindow extends OperatorWindow {
  actor: string;
  createdAt: number;
  removedAt: number | null;
}

/** A stored reading whose flag an officer's change or a window sets. */
export interface FlagTarget {
  device: string;
  metric: string;
  ts: number;
  station: string | null;
}

/**
 * Where quality control keeps its flags, windows and audit: cloud.db (openQualityStore, one host)
 * or the SharedStore's PostgreSQL tables (shared-store/postgres-air-quality.ts, several hosts).
 * Async for PostgreSQL; the SQLite one does its work when called (its promises are settled on
 * return), so one host judges a batch synchronously, as before. Each write is one transaction.
 */
export interface QualityStore {
  /**
   * The automatic flags of judged readings and the `auto` audit rows of the non-N ones, in one
   * transaction. Idempotent: a reading judged again (a replay, a host taking a partition over
   * from its saved cursor) keeps the flag in effect (an officer's) and gets no second audit row.
   */
  putAuto(rows: FlagRow[], audits: Omit<AuditEntry, 'id'>[]): Promise<void>;
  /** The flags of stored rows in a scope (both automatic and overridden). */
  flags(q: Partial<FlagScope> & { limit: number; notNormal?: boolean }): Promise<FlagRow[]>;
  /** Gives stored readings `flag` (an officer's change, a window set afterwards). */
  setFlags(readings: readonly FlagTarget[], flag: DataFlag): Promise<void>;
  /** Overrides (invalidate/restore audit rows), oldest first. */
  overrides(): Promise<AuditEntry[]>;
  audit(q: { station?: string; device?: string; from?: number; to?: number; limit: number }): Promise<
    AuditEntry[]
  >;
  addAudit(e: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  windows(activeOnly: boolean): Promise<StoredWindow[]>;
  /** A window and its `window_set` audit row, in one transaction. */
  putWindow(w: StoredWindow, audit: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Removes an active window with the audit row `audit` makes of it; undefined if none is active. */
  removeWindow(
    id: string,
    actor: string,
    at: number,
    audit: (w: StoredWindow) => Omit<AuditEntry, 'id'>,
  ): Promise<StoredWindow | undefined>;
  notePlace(device: string, place: PlaceTags): Promise<void>;
  placeOf(device: string): Promise<PlaceTags | undefined>;
  devicesAt(station: string): Promise<string[]>;
  /**
   * Grows with every window set or removed and every override (their audit rows): whoever judges
   * reloads its windows and overrides when it moved (another host's officer changed them).
   */
  version(): Promise<number>;
}

/** A SQLite store's answer: the work is done now; a failure is the promise's, as PostgreSQL's. */
export function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A qc_audit row as both stores select it (`SELECT *`). */
export type AuditRowDb = {
  id: number;
  at: number;
  actor: string;
  action: AuditAction;
  device: string | null;
  metric: string | null;
  station: string | null;
  from_ts: number | null;
  to_ts: number | null;
  flag: DataFlag | null;
  reason: string;
  readings: number;
};
export const auditOf = (r: AuditRowDb): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  device: r.device,
  metric: r.metric,
  station: r.station,
  from: r.from_ts,
  to: r.to_ts,
  flag: r.flag,
  reason: r.reason,
  readings: r.readings,
});

export type FlagRowDb = {
  device: string;
  metric: string;
  ts: number;
  station: string | null;
  auto_flag: DataFlag;
  flag: DataFlag;
  reasons: string;
};
export const flagOfRow = (r: FlagRowDb): FlagRow => ({
  device: r.device,
  metric: r.metric,
  ts: r.ts,
  station: r.station,
  autoFlag: r.auto_flag,
  flag: r.flag,
  reasons: JSON.parse(r.reasons) as QcReason[],
});

export type WindowRowDb = {
  id: string;
  kind: 'maintenance' | 'calibration';
  from_ts: number;
  to_ts: number;
  device: string | null;
  station: string | null;
  metrics: string | null;
  reason: string | null;
  actor: string;
  created_at: number;
  removed_at: number | null;
};
export const windowOf = (r: WindowRowDb): StoredWindow => ({
  id: r.id,
  kind: r.kind,
  from: r.from_ts,
  to: r.to_ts,
  ...(r.device !== null ? { device: r.device } : {}),
  ...(r.station !== null ? { station: r.station } : {}),
  ...(r.metrics !== null ? { metrics: JSON.parse(r.metrics) as string[] } : {}),
  ...(r.reason !== null ? { reason: r.reason } : {}),
  actor: r.actor,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

/** A window's columns, as both stores insert them. */
export const windowColumns = (w: StoredWindow) => ({
  id: w.id,
  kind: w.kind,
  from: w.from,
  to: w.to,
  device: w.device ?? null,
  station: w.station ?? null,
  metrics: w.metrics ? JSON.stringify(w.metrics) : null,
  reason: w.reason ?? null,
  actor: w.actor,
  createdAt: w.createdAt,
});

export function openQualityStore(db: Db): QualityStore {
  db.exec(SCHEMA);
  // An automatic flag never replaces an officer's: a replayed reading keeps the flag in effect.
  const upsertAuto = db.prepare<[string, string, number, string | null, string, string, string]>(
    `INSERT INTO qc_flags (device, metric, ts, station, auto_flag, flag, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (device, metric, ts) DO UPDATE SET auto_flag = excluded.auto_flag, reasons = excluded.reasons`,
  );
  const upsertFlag = db.prepare<[string, string, number, string | null, string]>(
    `INSERT INTO qc_flags (device, metric, ts, station, auto_flag, flag, reasons) VALUES (?, ?, ?, ?, 'N', ?, '[]')
     ON CONFLICT (device, metric, ts) DO UPDATE SET flag = excluded.flag`,
  );
  const AUDIT_COLUMNS = 'at, actor, action, device, metric, station, from_ts, to_ts, flag, reason, readings';
  const insertAudit = db.prepare(
    `INSERT INTO qc_audit (${AUDIT_COLUMNS})
     VALUES (@at, @actor, @action, @device, @metric, @station, @from, @to, @flag, @reason, @readings)`,
  );
  const insertAutoAudit = db.prepare(
    `INSERT INTO qc_audit (${AUDIT_COLUMNS})
     SELECT @at, @actor, @action, @device, @metric, @station, @from, @to, @flag, @reason, @readings
      WHERE NOT EXISTS (SELECT 1 FROM qc_audit
                         WHERE action = 'auto' AND device = @device AND metric = @metric AND from_ts = @from)`,
  );
  const overrides = db.prepare<[], AuditRowDb>(
    `SELECT * FROM qc_audit WHERE action IN ('invalidate', 'restore') ORDER BY id`,
  );
  const version = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM qc_audit WHERE action <> 'auto'");
  const insertWindow = db.prepare(
    `INSERT INTO qc_windows (id, kind, from_ts, to_ts, device, station, metrics, reason, actor, created_at)
     VALUES (@id, @kind, @from, @to, @device, @station, @metrics, @reason, @actor, @createdAt)`,
  );
  const removeWindow = db.prepare<[number, string, string]>(
    'UPDATE qc_windows SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL',
  );
  const windowById = db.prepare<[string], WindowRowDb>('SELECT * FROM qc_windows WHERE id = ?');
  const upsertPlace = db.prepare<[string, string | null, string | null, string | null, string | null]>(
    `INSERT INTO qc_devices (device, county, town, village, station) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (device) DO UPDATE SET county = excluded.county, town = excluded.town,
       village = excluded.village, station = excluded.station`,
  );
  const selectPlace = db.prepare<[string], PlaceTags>(
    'SELECT county, town, village, station FROM qc_devices WHERE device = ?',
  );
  const devicesAt = db.prepare<[string], { device: string }>(
    'SELECT device FROM qc_devices WHERE station = ?',
  );
  const knownPlaces = new Map<string, string>();
  const addAudit = (e: Omit<AuditEntry, 'id'>): AuditEntry => {
    const { lastInsertRowid } = insertAudit.run(e);
    return { id: Number(lastInsertRowid), ...e };
  };

  return {
    putAuto: (rows, audits) =>
      settled(() =>
        db.transaction(() => {
          for (const r of rows)
            upsertAuto.run(
              r.device,
              r.metric,
              r.ts,
              r.station,
              r.autoFlag,
              r.flag,
              JSON.stringify(r.reasons),
            );
          for (const a of audits) insertAutoAudit.run(a);
        })(),
      ),
    flags: (q) =>
      settled(() => {
        const where: string[] = [];
        const params: (string | number)[] = [];
        const add = (sql: string, v: string | number | undefined) => {
          if (v === undefined) return;
          where.push(sql);
          params.push(v);
        };
        add('device = ?', q.device);
        add('station = ?', q.station);
        add('metric = ?', q.metric);
        add('ts >= ?', q.from);
        add('ts < ?', q.to);
        if (q.notNormal) where.push("flag <> 'N'");
        params.push(q.limit);
        return db
          .prepare<(string | number)[], FlagRowDb>(
            `SELECT * FROM qc_flags ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC LIMIT ?`,
          )
          .all(...params)
          .map(flagOfRow);
      }),
    setFlags: (readings, flag) =>
      settled(() =>
        db.transaction(() => {
          for (const r of readings) upsertFlag.run(r.device, r.metric, r.ts, r.station, flag);
        })(),
      ),
    overrides: () => settled(() => overrides.all().map(auditOf)),
    audit: (q) =>
      settled(() => {
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (q.station !== undefined) {
          where.push('station = ?');
          params.push(q.station);
        }
        if (q.device !== undefined) {
          where.push('device = ?');
          params.push(q.device);
        }
        if (q.from !== undefined) {
          where.push('at >= ?');
          params.push(q.from);
        }
        if (q.to !== undefined) {
          where.push('at < ?');
          params.push(q.to);
        }
        params.push(q.limit);
        return db
          .prepare<(string | number)[], AuditRowDb>(
            `SELECT * FROM qc_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
          )
          .all(...params)
          .map(auditOf);
      }),
    addAudit: (e) => settled(() => addAudit(e)),
    windows: (activeOnly) =>
      settled(() =>
        db
          .prepare<[], WindowRowDb>(
            `SELECT * FROM qc_windows ${activeOnly ? 'WHERE removed_at IS NULL' : ''} ORDER BY from_ts`,
          )
          .all()
          .map(windowOf),
      ),
    putWindow: (w, audit) =>
      settled(() =>
        db.transaction(() => {
          insertWindow.run(windowColumns(w));
          addAudit(audit);
        })(),
      ),
    removeWindow: (id, actor, at, audit) =>
      settled(() =>
        db.transaction(() => {
          if (removeWindow.run(at, actor, id).changes === 0) return undefined;
          const r = windowById.get(id);
          const w = r && windowOf(r);
          if (w) addAudit(audit(w));
          return w;
        })(),
      ),
    notePlace: (device, place) =>
      settled(() => {
        const key = `${place.county}|${place.town}|${place.village}|${place.station}`;
        if (knownPlaces.get(device) === key) return;
        upsertPlace.run(device, place.county, place.town, place.village, place.station);
        knownPlaces.set(device, key);
      }),
    placeOf: (device) => settled(() => selectPlace.get(device)),
    devicesAt: (station) => settled(() => devicesAt.all(station).map((r) => r.device)),
    version: () => settled(() => version.get()!.n),
  };
}
