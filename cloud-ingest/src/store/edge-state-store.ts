import type { EdgeReport } from '@village/protocol';
import type { Db } from './open-database.js';

/**
 * The latest state report of each edge (Status `report`), and the alerts it raised: a backlog
 * older than the threshold, or a nearly full disk. An alert is one row from raised to cleared, so
 * the history says how long an edge was behind; the active ones show in GET /api/v1/edges.
 */
export type EdgeAlertKind = 'backlog' | 'disk';

export interface EdgeAlert {
  edge: string;
  kind: EdgeAlertKind;
  raisedAt: number;
  clearedAt: number | null;
  /** The value that raised it: backlog age, s, or free disk ratio. */
  value: number;
}

export interface EdgeState {
  edge: string;
  receivedAt: number;
  ts: number;
  boot: number;
  version: string;
  report: EdgeReport;
}

export interface EdgeHealthThresholds {
  backlogAlertS: number;
  diskFreeAlertRatio: number;
}

export interface EdgeStateStore {
  /** Stores the report and opens or clears alerts; returns the alerts raised and cleared by it. */
  record(s: Omit<EdgeState, 'receivedAt'>, now: number): { raised: EdgeAlert[]; cleared: EdgeAlert[] };
  get(edge: string): EdgeState | undefined;
  /** The edge's alerts, newest first (active and the last cleared ones). */
  alerts(edge: string, limit?: number): EdgeAlert[];
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS edge_states (
    edge TEXT PRIMARY KEY, received_at INTEGER NOT NULL, ts INTEGER NOT NULL, boot INTEGER NOT NULL,
    version TEXT NOT NULL, report TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS edge_alerts (
    id INTEGER PRIMARY KEY, edge TEXT NOT NULL, kind TEXT NOT NULL, raised_at INTEGER NOT NULL,
    cleared_at INTEGER, value REAL NOT NULL);
  CREATE INDEX IF NOT EXISTS edge_alerts_by_edge ON edge_alerts (edge, raised_at);
`;

/** The value of each alert kind in a report, and whether it is over the threshold. */
export function alertValues(
  r: EdgeReport,
  t: EdgeHealthThresholds,
): Record<EdgeAlertKind, { value: number; on: boolean }> {
  const age = r.outbox.oldestUnsentAgeS ?? 0;
  const ratio =
    r.diskFreeBytes !== null && r.diskTotalBytes !== null && r.diskTotalBytes > 0
      ? r.diskFreeBytes / r.diskTotalBytes
      : 1;
  return {
    backlog: { value: age, on: age > t.backlogAlertS },
    disk: { value: ratio, on: ratio < t.diskFreeAlertRatio || r.outbox.diskFull },
  };
}

interface AlertRow {
  edge: string;
  kind: EdgeAlertKind;
  raised_at: number;
  cleared_at: number | null;
  value: number;
}
const toAlert = (r: AlertRow): EdgeAlert => ({
  edge: r.edge,
  kind: r.kind,
  raisedAt: r.raised_at,
  clearedAt: r.cleared_at,
  value: r.value,
});

export function openEdgeStateStore(db: Db, thresholds: EdgeHealthThresholds): EdgeStateStore {
  db.exec(SCHEMA);
  const upsert = db.prepare(
    `INSERT INTO edge_states (edge, received_at, ts, boot, version, report)
     VALUES (@edge, @receivedAt, @ts, @boot, @version, @report)
     ON CONFLICT (edge) DO UPDATE SET received_at = excluded.received_at, ts = excluded.ts,
       boot = excluded.boot, version = excluded.version, report = excluded.report`,
  );
  const select = db.prepare<
    [string],
    { edge: string; received_at: number; ts: number; boot: number; version: string; report: string }
  >('SELECT * FROM edge_states WHERE edge = ?');
  const active = db.prepare<[string, string], AlertRow>(
    'SELECT * FROM edge_alerts WHERE edge = ? AND kind = ? AND cleared_at IS NULL',
  );
  const raise = db.prepare<[string, string, number, number]>(
    'INSERT INTO edge_alerts (edge, kind, raised_at, value) VALUES (?, ?, ?, ?)',
  );
  const clear = db.prepare<[number, string, string]>(
    'UPDATE edge_alerts SET cleared_at = ? WHERE edge = ? AND kind = ? AND cleared_at IS NULL',
  );
  const recent = db.prepare<[string, number], AlertRow>(
    'SELECT * FROM edge_alerts WHERE edge = ? ORDER BY raised_at DESC, id DESC LIMIT ?',
  );
  const record = db.transaction((s: Omit<EdgeState, 'receivedAt'>, now: number) => {
    upsert.run({ ...s, receivedAt: now, report: JSON.stringify(s.report) });
    const raised: EdgeAlert[] = [];
    const cleared: EdgeAlert[] = [];
    for (const [kind, { value, on }] of Object.entries(alertValues(s.report, thresholds)) as [
      EdgeAlertKind,
      { value: number; on: boolean },
    ][]) {
      const open = active.get(s.edge, kind);
      if (on && !open) {
        raise.run(s.edge, kind, now, value);
        raised.push({ edge: s.edge, kind, raisedAt: now, clearedAt: null, value });
      } else if (!on && open) {
        clear.run(now, s.edge, kind);
        cleared.push({ ...toAlert(open), clearedAt: now });
      }
    }
    return { raised, cleared };
  });
  return {
    record: (s, now) => record(s, now),
    get(edge) {
      const r = select.get(edge);
      return (
        r && {
          edge: r.edge,
          receivedAt: r.received_at,
          ts: r.ts,
          boot: r.boot,
          version: r.version,
          report: JSON.parse(r.report) as EdgeReport,
        }
      );
    },
    alerts: (edge, limit = 20) => recent.all(edge, limit).map(toAlert),
  };
}
