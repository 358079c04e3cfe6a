import type { Alert, AlertText } from '@village/rules';
import type { Db } from '../store/open-database.js';
import type { IncidentView } from './incident-view.js';

/** An alert as stored and served (docs/api.md "Alerts and incidents"). */
export interface AlertView {
  id: number;
  key: string;
  rule: string;
  severity: string;
  state: 'active' | 'cleared';
  village: string;
  station: string | null;
  device: string | null;
  person: string | null;
  message: string;
  /** What it says as fields; the dashboards render it in the reader's language (rules/alert-text). */
  text: AlertText | null;
  count: number;
  raisedAt: number;
  lastAt: number;
  clearedAt: number | null;
  data: { since: number; value?: unknown; position?: { lat: number; lon: number }; text?: AlertText };
}

/** Villages a caller may see, or 'all' (http/request-scope.ts). */
export type VillageFilter = ReadonlySet<string> | 'all';

export interface AlertQuery {
  state?: 'active' | 'cleared';
  village?: string;
  severity?: string;
  rule?: string;
  villages: VillageFilter;
  limit: number;
}

export interface IncidentQuery {
  state?: IncidentView['state'];
  village?: string;
  villages: VillageFilter;
  /** Opened at or after (ms epoch). */
  from?: number;
  /** Opened before (ms epoch). */
  to?: number;
  limit: number;
}

/**
 * The rules runtime's tables in cloud.db: the engine state (one row, with the events cursor
 * that says which committed events it has seen), alerts, incidents with their audit trail.
 * Notifications have their own table (notify/delivery-store.ts).
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rule_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, events_cursor INTEGER NOT NULL,
    updated_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
    state TEXT NOT NULL, village TEXT NOT NULL, station TEXT, device TEXT, person TEXT,
    message TEXT NOT NULL, count INTEGER NOT NULL, raised_at INTEGER NOT NULL, last_at INTEGER NOT NULL,
    cleared_at INTEGER, data JSON NOT NULL);
  CREATE UNIQUE INDEX IF NOT EXISTS alerts_active_key ON alerts (key) WHERE state = 'active';
  CREATE INDEX IF NOT EXISTS alerts_by_raised ON alerts (raised_at);
  CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, village TEXT NOT NULL, state TEXT NOT NULL, opened_at INTEGER NOT NULL,
    doc JSON NOT NULL);
  CREATE INDEX IF NOT EXISTS incidents_by_opened ON incidents (opened_at);
  CREATE TABLE IF NOT EXISTS incident_audit (
    incident_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT, PRIMARY KEY (incident_id, seq)) WITHOUT ROWID;
`;

interface AlertRow {
  id: number;
  key: string;
  rule: string;
  severity: string;
  state: 'active' | 'cleared';
  village: string;
  station: string | null;
  device: string | null;
  person: string | null;
  message: string;
  count: number;
  raised_at: number;
  last_at: number;
  cleared_at: number | null;
  data: string;
}

const toAlertView = (r: AlertRow): AlertView => {
  const data = JSON.parse(r.data) as AlertView['data'];
  return {
    id: r.id,
    key: r.key,
    rule: r.rule,
    severity: r.severity,
    state: r.state,
    village: r.village,
    station: r.station,
    device: r.device,
    person: r.person,
    message: r.message,
    text: data.text ?? null,
    count: r.count,
    raisedAt: r.raised_at,
    lastAt: r.last_at,
    clearedAt: r.cleared_at,
    data,
  };
};

const alertData = (a: Alert): AlertView['data'] => {
  const d: AlertView['data'] = { since: a.since };
  if (a.value !== undefined) d.value = a.value;
  if (a.position !== undefined) d.position = a.position;
  if (a.text !== undefined) d.text = a.text;
  return d;
};

function villageClause(villages: VillageFilter, where: string[], params: unknown[]): void {
  if (villages === 'all') return;
  where.push(`village IN (${[...villages].map(() => '?').join(',') || "''"})`);
  params.push(...villages);
}

export interface RulesStore {
  loadState(): { state: string; eventsCursor: number } | undefined;
  saveState(state: string, eventsCursor: number, now: number): void;
  /** Highest committed event row id (0 when none, or when the sink keeps events elsewhere). */
  maxEventId(): number;
  /** Committed events after `cursor`, oldest first (the ones a crash kept from the engine). */
  eventsAfter(cursor: number): {
    id: number;
    edge: string;
    device: string;
    type: string;
    severity: string;
    ts: number;
    receivedAt: number;
    data: Record<string, unknown>;
  }[];
  insertAlert(a: Alert): number;
  /** Row id of the active alert with this key (or the latest one with it). */
  alertId(key: string): number | undefined;
  updateAlertCount(a: Alert): number | undefined;
  clearAlert(a: Alert, at: number): number | undefined;
  alert(id: number): AlertView | undefined;
  alerts(q: AlertQuery): AlertView[];
  putIncident(v: IncidentView): void;
  incident(id: string): IncidentView | undefined;
  incidents(q: IncidentQuery): IncidentView[];
  transaction<T>(fn: () => T): T;
}

export function openRulesStore(db: Db): RulesStore {
  db.exec(SCHEMA);
  const hasEvents =
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() !== undefined;
  const loadState = db.prepare<[], { state: string; events_cursor: number }>(
    'SELECT state, events_cursor FROM rule_state WHERE id = 1',
  );
  const saveState = db.prepare(
    `INSERT INTO rule_state (id, state, events_cursor, updated_at) VALUES (1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, events_cursor = excluded.events_cursor,
       updated_at = excluded.updated_at`,
  );
  const maxEventId = hasEvents
    ? db.prepare<[], { m: number | null }>('SELECT MAX(id) AS m FROM events')
    : undefined;
  const eventsAfter = hasEvents
    ? db.prepare<
        [number],
        {
          id: number;
          edge: string;
          device: string;
          type: string;
          severity: string;
          ts: number;
          received_at: number;
          data: string;
        }
      >('SELECT id, edge, device, type, severity, ts, received_at, data FROM events WHERE id > ? ORDER BY id')
    : undefined;
  const insertAlert = db.prepare(
    `INSERT INTO alerts (key, rule, severity, state, village, station, device, person, message, count,
       raised_at, last_at, data)
     VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const activeId = db.prepare<[string], { id: number }>(
    "SELECT id FROM alerts WHERE key = ? ORDER BY (state = 'active') DESC, id DESC LIMIT 1",
  );
  const updateCount = db.prepare(
    "UPDATE alerts SET count = ?, last_at = ?, data = ? WHERE key = ? AND state = 'active' RETURNING id",
  );
  const clear = db.prepare(
    `UPDATE alerts SET state = 'cleared', cleared_at = ?, count = ?, last_at = ?, data = ?
     WHERE key = ? AND state = 'active' RETURNING id`,
  );
  const getAlert = db.prepare<[number], AlertRow>('SELECT * FROM alerts WHERE id = ?');
  const putIncident = db.prepare(
    `INSERT INTO incidents (id, village, state, opened_at, doc) VALUES (@id, @village, @state, @openedAt, @doc)
     ON CONFLICT (id) DO UPDATE SET state = @state, doc = @doc`,
  );
  const putAudit = db.prepare(
    'INSERT OR IGNORE INTO incident_audit (incident_id, seq, at, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const getIncident = db.prepare<[string], { doc: string }>('SELECT doc FROM incidents WHERE id = ?');

  return {
    loadState() {
      const r = loadState.get();
      return r && { state: r.state, eventsCursor: r.events_cursor };
    },
    saveState(state, cursor, now) {
      saveState.run(state, cursor, now);
    },
    maxEventId: () => maxEventId?.get()?.m ?? 0,
    eventsAfter: (cursor) =>
      (eventsAfter?.all(cursor) ?? []).map((e) => ({
        id: e.id,
        edge: e.edge,
        device: e.device,
        type: e.type,
        severity: e.severity,
        ts: e.ts,
        receivedAt: e.received_at,
        data: JSON.parse(e.data),
      })),
    insertAlert(a) {
      const s = a.subject;
      return Number(
        insertAlert.run(
          a.key,
          a.rule,
          a.severity,
          s.village,
          s.station ?? null,
          s.device ?? null,
          s.person ?? null,
          a.message,
          a.count,
          a.raisedAt,
          a.lastAt,
          JSON.stringify(alertData(a)),
        ).lastInsertRowid,
      );
    },
    alertId: (key) => activeId.get(key)?.id,
    updateAlertCount(a) {
      const r = updateCount.get(a.count, a.lastAt, JSON.stringify(alertData(a)), a.key) as
        | { id: number }
        | undefined;
      return r?.id;
    },
    clearAlert(a, at) {
      const r = clear.get(at, a.count, a.lastAt, JSON.stringify(alertData(a)), a.key) as
        | { id: number }
        | undefined;
      return r?.id;
    },
    alert(id) {
      const r = getAlert.get(id);
      return r && toAlertView(r);
    },
    alerts(q) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [col, v] of [
        ['state', q.state],
        ['village', q.village],
        ['severity', q.severity],
        ['rule', q.rule],
      ] as const) {
        if (v !== undefined) {
          where.push(`${col} = ?`);
          params.push(v);
        }
      }
      villageClause(q.villages, where, params);
      const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY raised_at DESC, id DESC LIMIT ?`;
      return (db.prepare(sql).all(...params, q.limit) as AlertRow[]).map(toAlertView);
    },
    putIncident(v) {
      putIncident.run({
        id: v.id,
        village: v.village,
        state: v.state,
        openedAt: v.openedAt,
        doc: JSON.stringify(v),
      });
      v.audit.forEach((a, seq) => {
        putAudit.run(v.id, seq, a.at, a.actor, a.action, a.detail ?? null);
      });
    },
    incident(id) {
      const r = getIncident.get(id);
      return r && (JSON.parse(r.doc) as IncidentView);
    },
    incidents(q) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.state !== undefined) {
        where.push('state = ?');
        params.push(q.state);
      }
      if (q.village !== undefined) {
        where.push('village = ?');
        params.push(q.village);
      }
      if (q.from !== undefined) {
        where.push('opened_at >= ?');
        params.push(q.from);
      }
      if (q.to !== undefined) {
        where.push('opened_at < ?');
        params.push(q.to);
      }
      villageClause(q.villages, where, params);
      const sql = `SELECT doc FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT ?`;
      return (db.prepare(sql).all(...params, q.limit) as { doc: string }[]).map(
        (r) => JSON.parse(r.doc) as IncidentView,
      );
    },
    transaction: (fn) => db.transaction(fn)(),
  };
}
