import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type Batch,
  type DeviceEvent,
  LIMITS,
  type Quality,
  type Reading,
  type Severity,
  encodeBatch,
} from '@village/protocol';
import Database from 'better-sqlite3';
import type { CutPolicy, Lane, Outbox, OutboxStats, StoredBatch } from './outbox.js';

export interface SqliteOutboxOptions {
  path: string;
  edgeId: string;
  /** Disk budget for buffered data, bytes. */
  quotaBytes: number;
  /** Group commit period, ms (0 = next tick). */
  groupCommitMs: number;
  synchronous: 'full' | 'normal';
  now?: () => number;
}

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
`;

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
  mkdirSync(dirname(opts.path), { recursive: true });
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`);
  db.exec(SCHEMA);

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

  const boot = db.transaction(() => {
    addMeta.run(1, 'boot');
    return getMeta.get('boot')!.value;
  })();

  // Group commit: appends wait in memory for at most groupCommitMs, then go to SQLite in one
  // transaction; their promises resolve after COMMIT, which is when they count as accepted.
  let queuedReadings: Reading[] = [];
  let queuedEvents: DeviceEvent[] = [];
  let waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
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
    } catch (err) {
      for (const w of done) w.reject(err as Error);
    }
  }

  function enqueue(readings: Reading[], events: DeviceEvent[]): Promise<void> {
    if (closed) return Promise.reject(new Error('outbox is closed'));
    for (const r of readings) queuedReadings.push(r);
    for (const e of events) queuedEvents.push(e);
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject });
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
    append: (readings) => (readings.length === 0 ? Promise.resolve() : enqueue(readings, [])),
    appendEvent: (event) => enqueue([], [event]),
    cut(policy) {
      if (flushTimer) {
        clearTimeout(flushTimer);
        flush();
      }
      return cutEvents(policy) + cutTelemetry(policy);
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
      };
    },
    async close() {
      if (closed) return;
      clearTimeout(flushTimer);
      if (queuedReadings.length > 0 || queuedEvents.length > 0 || waiters.length > 0) flush();
      closed = true;
      db.close();
    },
  };
  return outbox;
}
