import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type Batch,
  type DeviceEvent,
  LEGACY_EPOCH,
  LIMITS,
  type Quality,
  type Reading,
  type Severity,
  encodeBatch,
} from '@village/protocol';
import Database from 'better-sqlite3';
import { migrateOutbox } from './outbox-migrations.js';
import {
  type CutPolicy,
  type Lane,
  type Outbox,
  OutboxFullError,
  type OutboxStats,
  type StoredBatch,
} from './outbox.js';

export interface SqliteOutboxOptions {
  path: string;
  edgeId: string;
  /** Disk budget for buffered data, bytes. */
  quotaBytes: number;
  /** Group commit period, ms (0 = next tick). */
  groupCommitMs: number;
  synchronous: 'full' | 'normal';
  /**
   * Disk space held in reserve for events, bytes (a file of zeros beside the database, `<path>.reserve`).
   * When the disk fills, telemetry is refused and the reserve is given up so events still fit.
   */
  eventReserveBytes?: number;
  /** While the disk is full, telemetry is tried again at most this often, ms. */
  diskFullRetryMs?: number;
  now?: () => number;
}

const DEFAULT_EVENT_RESERVE_BYTES = 1024 * 1024;
const DEFAULT_DISK_FULL_RETRY_MS = 5_000;

const QUALITY_CODE: Record<Quality, number> = { good: 0, suspect: 1, bad: 2 };
const QUALITY: Quality[] = ['good', 'suspect', 'bad'];
const LANE_CODE: Record<Lane, number> = { event: 0, telemetry: 1 };
const VTYPE_NUMBER = 0;
const VTYPE_BOOL = 1;
const VTYPE_STRING = 2;
/** Quota enforcement deletes this many telemetry batches per step, so one check stays short. */
const DROP_STEP = 16;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
  id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
  ts INTEGER NOT NULL, value ANY, vtype INTEGER NOT NULL, quality INTEGER NOT NULL, accepted_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS pending_events (
  id INTEGER PRIMARY KEY, device TEXT NOT NULL, type TEXT NOT NULL, severity TEXT NOT NULL,
  ts INTEGER NOT NULL, data TEXT NOT NULL, accepted_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY, lane INTEGER NOT NULL, created_at INTEGER NOT NULL, oldest_accepted INTEGER NOT NULL,
  readings INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER, bytes BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS batches_by_lane ON batches (lane, seq);
INSERT OR IGNORE INTO meta VALUES ('boot', 0), ('last_seq', 0), ('dropped_readings', 0), ('rejected_batches', 0);
CREATE TABLE IF NOT EXISTS epoch (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL) STRICT;
`;

/** SQLite's "database or disk is full", or the ENOSPC under it. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}

interface PendingRow {
  id: number;
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: number | string;
  vtype: number;
  quality: number;
  accepted_at: number;
}

interface PendingEventRow {
  id: number;
  device: string;
  type: string;
  severity: string;
  ts: number;
  data: string;
  accepted_at: number;
}

/** The SQLite outbox (WAL). One process owns the file. */
export function openSqliteOutbox(opts: SqliteOutboxOptions): Outbox {
  const now = opts.now ?? Date.now;
  const reserveWanted = opts.eventReserveBytes ?? DEFAULT_EVENT_RESERVE_BYTES;
  const diskFullRetryMs = opts.diskFullRetryMs ?? DEFAULT_DISK_FULL_RETRY_MS;
  const reservePath = `${opts.path}.reserve`;
  mkdirSync(dirname(opts.path), { recursive: true });

  // The event reserve: plain bytes on the same file system, made while there is room and given
  // up (deleted) the moment an event would not fit. Telemetry is taken only while the reserve is
  // whole, so the room it frees is the events' alone.
  let reserveHeld = holdReserve();
  function holdReserve(): number {
    if (reserveWanted === 0) return 0;
    try {
      if (statSync(reservePath).size >= reserveWanted) return reserveWanted;
    } catch {
      // not there yet
    }
    try {
      writeFileSync(reservePath, Buffer.alloc(reserveWanted));
      return reserveWanted;
    } catch {
      rmSync(reservePath, { force: true });
      return 0;
    }
  }
  /** Runs `write`; on a full disk gives up the reserve once and runs it again. */
  function withReserve<T>(write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (!isDiskFull(err) || reserveHeld === 0) throw err;
      rmSync(reservePath, { force: true });
      reserveHeld = 0;
      markFull();
      return write();
    }
  }
  let diskFull = false;
  let fullSince = 0;
  let lastFullCut = Number.NEGATIVE_INFINITY;
  function markFull(): void {
    diskFull = true;
    fullSince = now();
  }
  /** While the disk is full, whether telemetry may be tried again (the reserve is whole again). */
  function telemetryRefused(): boolean {
    if (!diskFull) return false;
    if (now() - fullSince < diskFullRetryMs) return true;
    reserveHeld = holdReserve();
    if (reserveHeld < reserveWanted) {
      fullSince = now();
      return true;
    }
    diskFull = false;
    return false;
  }

  const db = new Database(opts.path);
  try {
    migrateOutbox(db, opts.path);
  } catch (err) {
    db.close();
    throw err;
  }
  withReserve(() => {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`);
    db.exec(SCHEMA);
  });

  const getMeta = db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?');
  const setMeta = db.prepare('UPDATE meta SET value = ? WHERE key = ?');
  const addMeta = db.prepare('UPDATE meta SET value = value + ? WHERE key = ?');
  const insertReading = db.prepare(
    'INSERT INTO pending (device, metric, unit, ts, value, vtype, quality, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertEvent = db.prepare(
    'INSERT INTO pending_events (device, type, severity, ts, data, accepted_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const selectPending = db.prepare<[number], PendingRow>('SELECT * FROM pending ORDER BY id LIMIT ?');
  const deletePendingUpTo = db.prepare('DELETE FROM pending WHERE id <= ?');
  const selectPendingEvents = db.prepare<[number], PendingEventRow>(
    'SELECT * FROM pending_events ORDER BY id LIMIT ?',
  );
  const deletePendingEventsUpTo = db.prepare('DELETE FROM pending_events WHERE id <= ?');
  // Rows are appended with rowid max+1 and only ever deleted from the front (cut, quota), so the
  // ids in `pending` are contiguous: its size is max - min + 1, found in two index probes instead
  // of a COUNT(*) that walks a backlog of a million rows on every cut. accepted_at grows with id.
  const pendingHead = db.prepare<[], { n: number; oldest: number | null }>(
    `SELECT COALESCE((SELECT MAX(id) FROM pending) - (SELECT MIN(id) FROM pending) + 1, 0) AS n,
            (SELECT accepted_at FROM pending ORDER BY id LIMIT 1) AS oldest`,
  );
  const insertBatch = db.prepare(
    'INSERT INTO batches (seq, lane, created_at, oldest_accepted, readings, first_ts, last_ts, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectNext = db.prepare<
    [string, number],
    { seq: number; lane: number; bytes: Buffer; readings: number }
  >(
    'SELECT seq, lane, bytes, readings FROM batches WHERE seq NOT IN (SELECT value FROM json_each(?)) ORDER BY lane, seq LIMIT ?',
  );
  const selectOne = db.prepare<[number], { seq: number; lane: number; bytes: Buffer; readings: number }>(
    'SELECT seq, lane, bytes, readings FROM batches WHERE seq = ?',
  );
  const deleteBatch = db.prepare('DELETE FROM batches WHERE seq = ?');
  const selectBatchInfo = db.prepare<
    [number],
    { lane: number; readings: number; first_ts: number | null; last_ts: number | null }
  >('SELECT lane, readings, first_ts, last_ts FROM batches WHERE seq = ?');
  const oldestTelemetry = db.prepare<
    [number],
    { seq: number; readings: number; first_ts: number; last_ts: number }
  >('SELECT seq, readings, first_ts, last_ts FROM batches WHERE lane = 1 ORDER BY seq LIMIT ?');
  const oldestPending = db.prepare<[number], { id: number; ts: number }>(
    'SELECT id, ts FROM pending ORDER BY id LIMIT ?',
  );
  const pageInfo = db.prepare<[], { used: number }>(
    'SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()) AS used',
  );
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const statsQuery = db.prepare<
    [],
    {
      pr: number;
      pe: number;
      b: number;
      br: number | null;
      o1: number | null;
      o2: number | null;
      o3: number | null;
    }
  >(`SELECT COALESCE((SELECT MAX(id) FROM pending) - (SELECT MIN(id) FROM pending) + 1, 0) AS pr, (SELECT COUNT(*) FROM pending_events) AS pe,
            (SELECT COUNT(*) FROM batches) AS b, (SELECT SUM(readings) FROM batches) AS br,
            (SELECT accepted_at FROM pending ORDER BY id LIMIT 1) AS o1, (SELECT MIN(accepted_at) FROM pending_events) AS o2,
            (SELECT MIN(oldest_accepted) FROM batches) AS o3`);

  const boot = withReserve(() =>
    db.transaction(() => {
      addMeta.run(1, 'boot');
      return getMeta.get('boot')!.value;
    })(),
  );

  // Made once, when the outbox is created; an outbox that already sent seqs before epochs existed
  // keeps the legacy (empty) epoch, because the cloud holds its seqs under that one.
  const epoch = withReserve(() =>
    db.transaction(() => {
      const row = db.prepare<[], { value: string }>('SELECT value FROM epoch WHERE id = 1').get();
      if (row) return row.value;
      const value = getMeta.get('last_seq')!.value > 0 ? LEGACY_EPOCH : randomBytes(16).toString('hex');
      db.prepare('INSERT INTO epoch (id, value) VALUES (1, ?)').run(value);
      return value;
    })(),
  );

  // Group commit: appends wait in memory for at most groupCommitMs, then go to SQLite in one
  // transaction; their promises resolve after COMMIT, which is when they count as accepted.
  let queuedReadings: Reading[] = [];
  let queuedEvents: DeviceEvent[] = [];
  /** `readings` is how many readings the waiter appended (0 for an event). */
  let waiters: { resolve: () => void; reject: (e: Error) => void; readings: number }[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const writeQueued = db.transaction((readings: Reading[], events: DeviceEvent[], at: number) => {
    for (const r of readings) {
      const [value, vtype] =
        typeof r.value === 'number'
          ? [r.value, VTYPE_NUMBER]
          : typeof r.value === 'boolean'
            ? [r.value ? 1 : 0, VTYPE_BOOL]
            : [r.value, VTYPE_STRING];
      insertReading.run(r.device, r.metric, r.unit, r.ts, value, vtype, QUALITY_CODE[r.quality], at);
    }
    for (const e of events) insertEvent.run(e.device, e.type, e.severity, e.ts, JSON.stringify(e.data), at);
    enforceQuota(at);
  });

  function rejectAll(list: typeof waiters, err: Error): void {
    for (const w of list) w.reject(err);
  }

  function flush(): void {
    flushTimer = undefined;
    const readings = queuedReadings;
    const events = queuedEvents;
    const done = waiters;
    queuedReadings = [];
    queuedEvents = [];
    waiters = [];
    try {
      writeQueued(readings, events, now());
      for (const w of done) w.resolve();
      return;
    } catch (err) {
      if (!isDiskFull(err)) {
        rejectAll(done, err as Error);
        return;
      }
    }
    // The disk is full: the telemetry is refused (its drivers get OutboxFullError, nothing was
    // stored), and the events go alone, into the reserve if need be.
    markFull();
    const eventWaiters = done.filter((w) => w.readings === 0);
    for (const w of done) if (w.readings > 0) w.reject(new OutboxFullError(w.readings));
    if (events.length === 0) return;
    try {
      withReserve(() => writeQueued([], events, now()));
      for (const w of eventWaiters) w.resolve();
    } catch (err) {
      rejectAll(eventWaiters, err as Error);
    }
  }

  function enqueue(readings: Reading[], events: DeviceEvent[]): Promise<void> {
    if (closed) return Promise.reject(new Error('outbox is closed'));
    if (readings.length > 0 && telemetryRefused())
      return Promise.reject(new OutboxFullError(readings.length));
    for (const r of readings) queuedReadings.push(r);
    for (const e of events) queuedEvents.push(e);
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject, readings: readings.length });
      // Events are alarms: commit them at once rather than waiting for the group.
      if (events.length > 0) {
        clearTimeout(flushTimer);
        flushTimer = setTimeout(flush, 0);
      } else if (!flushTimer) {
        flushTimer = setTimeout(flush, opts.groupCommitMs);
      }
    });
  }

  /** Inside a transaction: drop oldest telemetry until under quota; record one gap event. */
  function enforceQuota(at: number): void {
    if (pageInfo.get()!.used * pageSize <= opts.quotaBytes) return;
    let dropped = 0;
    let fromTs = Number.POSITIVE_INFINITY;
    let toTs = Number.NEGATIVE_INFINITY;
    while (pageInfo.get()!.used * pageSize > opts.quotaBytes) {
      const victims = oldestTelemetry.all(DROP_STEP);
      if (victims.length > 0) {
        for (const v of victims) {
          deleteBatch.run(v.seq);
          dropped += v.readings;
          fromTs = Math.min(fromTs, v.first_ts);
          toTs = Math.max(toTs, v.last_ts);
        }
        continue;
      }
      const rows = oldestPending.all(1_000);
      if (rows.length === 0) break; // only events left: they are never dropped
      deletePendingUpTo.run(rows[rows.length - 1]!.id);
      dropped += rows.length;
      for (const r of rows) {
        fromTs = Math.min(fromTs, r.ts);
        toTs = Math.max(toTs, r.ts);
      }
    }
    if (dropped === 0) return;
    addMeta.run(dropped, 'dropped_readings');
    const gap: DeviceEvent = {
      device: opts.edgeId,
      type: 'gap',
      severity: 'warning',
      ts: at,
      data: { reason: 'quota', dropped, fromTs, toTs },
    };
    insertEvent.run(gap.device, gap.type, gap.severity, gap.ts, JSON.stringify(gap.data), at);
  }

  const nextSeq = () => {
    addMeta.run(1, 'last_seq');
    return getMeta.get('last_seq')!.value;
  };

  const cutEvents = db.transaction((policy: CutPolicy): number => {
    let cut = 0;
    for (;;) {
      const rows = selectPendingEvents.all(LIMITS.maxEventsPerBatch);
      if (rows.length === 0) return cut;
      const events: DeviceEvent[] = rows.map((r) => ({
        device: r.device,
        type: r.type,
        severity: r.severity as Severity,
        ts: r.ts,
        data: JSON.parse(r.data),
      }));
      const oldest = Math.min(...rows.map((r) => r.accepted_at));
      const seq = nextSeq();
      const batch: Batch = {
        edgeId: opts.edgeId,
        seq,
        boot,
        epoch,
        createdAt: policy.now,
        historical: isHistorical(policy, oldest),
        readings: [],
        events,
      };
      insertBatch.run(seq, LANE_CODE.event, policy.now, oldest, 0, null, null, encodeBatch(batch));
      deletePendingEventsUpTo.run(rows[rows.length - 1]!.id);
      cut++;
    }
  });

  const cutTelemetry = db.transaction((policy: CutPolicy): number => {
    let cut = 0;
    for (;;) {
      const head = pendingHead.get()!;
      if (head.n === 0) return cut;
      if (head.n < policy.maxReadings && head.oldest! > policy.now - policy.maxAgeMs) return cut;
      const rows = selectPending.all(policy.maxReadings);
      const readings = new Array<Reading>(rows.length);
      let oldest = Number.POSITIVE_INFINITY;
      let firstTs = Number.POSITIVE_INFINITY;
      let lastTs = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const value =
          r.vtype === VTYPE_NUMBER
            ? (r.value as number)
            : r.vtype === VTYPE_BOOL
              ? r.value === 1
              : String(r.value);
        readings[i] = {
          device: r.device,
          metric: r.metric,
          unit: r.unit,
          ts: r.ts,
          value,
          quality: QUALITY[r.quality]!,
        };
        if (r.accepted_at < oldest) oldest = r.accepted_at;
        if (r.ts < firstTs) firstTs = r.ts;
        if (r.ts > lastTs) lastTs = r.ts;
      }
      const seq = nextSeq();
      const batch: Batch = {
        edgeId: opts.edgeId,
        seq,
        boot,
        epoch,
        createdAt: policy.now,
        historical: isHistorical(policy, oldest),
        readings,
        events: [],
      };
      insertBatch.run(
        seq,
        LANE_CODE.telemetry,
        policy.now,
        oldest,
        rows.length,
        firstTs,
        lastTs,
        encodeBatch(batch),
      );
      deletePendingUpTo.run(rows[rows.length - 1]!.id);
      cut++;
    }
  });

  function toStored(r: { seq: number; lane: number; bytes: Buffer; readings: number }): StoredBatch {
    return {
      seq: r.seq,
      lane: r.lane === LANE_CODE.event ? 'event' : 'telemetry',
      bytes: r.bytes,
      readings: r.readings,
    };
  }

  function isHistorical(policy: CutPolicy, oldestAccepted: number): boolean {
    return !policy.uplinkConnected || policy.now - oldestAccepted > policy.historicalAfterMs;
  }

  const ackMany = db.transaction((seqs: readonly number[]) => {
    let n = 0;
    for (const s of seqs) n += deleteBatch.run(s).changes;
    return n;
  });

  const rejectOne = db.transaction((seq: number, reason: string) => {
    const info = selectBatchInfo.get(seq);
    if (!info) return;
    deleteBatch.run(seq);
    addMeta.run(1, 'rejected_batches');
    addMeta.run(info.readings, 'dropped_readings');
    // A rejected event batch is not re-reported as an event: that could loop if the report were rejected too.
    if (info.lane === LANE_CODE.telemetry) {
      const at = now();
      const data = {
        reason: `rejected: ${reason}`.slice(0, LIMITS.maxStringValue),
        dropped: info.readings,
        fromTs: info.first_ts,
        toTs: info.last_ts,
        seq,
      };
      insertEvent.run(opts.edgeId, 'gap', 'warning', at, JSON.stringify(data), at);
    }
  });

  const outbox: Outbox = {
    boot,
    epoch,
    append: (readings) => (readings.length === 0 ? Promise.resolve() : enqueue(readings, [])),
    appendEvent: (event) => enqueue([], [event]),
    cut(policy) {
      if (flushTimer) {
        clearTimeout(flushTimer);
        flush();
      }
      // Events are cut even on a full disk (into the reserve); telemetry waits for room.
      const events = withReserve(() => cutEvents(policy));
      // On a full disk a cut may fail (its batch needs room before its rows go): tried again
      // once per diskFullRetryMs, so the backlog still leaves as acks free pages.
      if (diskFull && now() - lastFullCut < diskFullRetryMs) return events;
      try {
        return events + cutTelemetry(policy);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        markFull();
        lastFullCut = now();
        return events;
      }
    },
    next: (limit, exclude) => selectNext.all(JSON.stringify([...exclude]), limit).map(toStored),
    read(seq) {
      const r = selectOne.get(seq);
      return r && toStored(r);
    },
    ack: (seqs) => ackMany(seqs),
    reject: (seq, reason) => rejectOne(seq, reason),
    stats(): OutboxStats {
      const s = statsQuery.get()!;
      const oldest = [s.o1, s.o2, s.o3].filter((x): x is number => x !== null);
      return {
        pendingReadings: s.pr,
        pendingEvents: s.pe,
        batches: s.b,
        batchedReadings: s.br ?? 0,
        oldestAcceptedAt: oldest.length > 0 ? Math.min(...oldest) : null,
        bytesUsed: pageInfo.get()!.used * pageSize,
        droppedReadings: getMeta.get('dropped_readings')!.value,
        rejectedBatches: getMeta.get('rejected_batches')!.value,
        diskFull,
        eventReserveBytes: reserveHeld,
      };
    },
    async close() {
      if (closed) return;
      clearTimeout(flushTimer);
      if (queuedReadings.length > 0 || queuedEvents.length > 0 || waiters.length > 0) flush();
      closed = true;
      try {
        db.close();
      } catch (err) {
        // A full disk can fail the last checkpoint: the WAL keeps the data and the next open replays it.
        if (!isDiskFull(err)) throw err;
      }
    },
  };
  return outbox;
}
