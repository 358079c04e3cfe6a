import type { Db } from '../store/open-database.js';
import type { IncidentView } from './incident-view.js';
import type { AlertQuery, AlertView, IncidentQuery, VillageFilter } from './rules-store.js';

/** What one commit of a partition changed, as the API shows it. */
export interface RuleViews {
  alerts: readonly AlertView[];
  incidents: readonly IncidentView[];
}

/**
 * The alerts and incidents every host serves with several hosts (docs/rules-across-hosts.md
 * "Where alerts and incidents are served from"): the holder of a village's partition writes each
 * alert and incident it changed, as the API shows it, after its own cloud.db commit; every host
 * reads them, for every village in the caller's scope. An alert is one row per (partition, key,
 * raisedAt), so the holder that takes a partition over writes the same rows again; its `id` is
 * the writing host's own row id.
 */
export interface RuleViewStore {
  /**
   * Upserts the views written by the partition's holder at lease `epoch`. Fenced: a row written
   * at a higher epoch is kept, so a stalled ex-holder cannot overwrite its successor's view.
   */
  put(partition: string, epoch: number, views: RuleViews, now: number): Promise<void>;
  /** Same filters and order as cloud.db's (rules-store.ts), over every partition. */
  alerts(q: AlertQuery): Promise<AlertView[]>;
  incidents(q: IncidentQuery): Promise<IncidentView[]>;
  incident(id: string): Promise<IncidentView | undefined>;
}

/** One condition of a query: column, operator, value (each backend renders its placeholders). */
export type Condition = [column: string, op: '=' | '>=' | '<', value: unknown];

export const alertConditions = (q: AlertQuery): Condition[] =>
  (
    [
      ['state', '=', q.state],
      ['village', '=', q.village],
      ['severity', '=', q.severity],
      ['rule', '=', q.rule],
    ] as Condition[]
  ).filter((c) => c[2] !== undefined);

export const incidentConditions = (q: IncidentQuery): Condition[] =>
  (
    [
      ['state', '=', q.state],
      ['village', '=', q.village],
      ['opened_at', '>=', q.from],
      ['opened_at', '<', q.to],
    ] as Condition[]
  ).filter((c) => c[2] !== undefined);

/** The caller's villages as a list, undefined for all (never widened: an empty set is none). */
export const villagesOf = (v: VillageFilter): string[] | undefined => (v === 'all' ? undefined : [...v]);

/**
 * The views in cloud.db tables: the SQLite SharedStore's (one host, several workers on one file,
 * and the suite), with the same meaning as PostgreSQL's (shared-store/postgres-rule-views.ts).
 */
export function openRuleViewStore(db: Db): RuleViewStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS shared_alert_views (
      partition TEXT NOT NULL, key TEXT NOT NULL, raised_at INTEGER NOT NULL, village TEXT NOT NULL,
      state TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL, epoch INTEGER NOT NULL,
      doc TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (partition, key, raised_at)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS shared_alert_views_raised ON shared_alert_views (raised_at);
    CREATE TABLE IF NOT EXISTS shared_incident_views (
      id TEXT PRIMARY KEY, partition TEXT NOT NULL, village TEXT NOT NULL, state TEXT NOT NULL,
      opened_at INTEGER NOT NULL, epoch INTEGER NOT NULL, doc TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS shared_incident_views_opened ON shared_incident_views (opened_at);
  `);
  const putAlert = db.prepare(
    `INSERT INTO shared_alert_views AS v (partition, key, raised_at, village, state, severity, rule, epoch, doc, updated_at)
     VALUES (@partition, @key, @raisedAt, @village, @state, @severity, @rule, @epoch, @doc, @now)
     ON CONFLICT (partition, key, raised_at) DO UPDATE SET village = excluded.village, state = excluded.state,
       severity = excluded.severity, rule = excluded.rule, epoch = excluded.epoch, doc = excluded.doc,
       updated_at = excluded.updated_at
     WHERE v.epoch <= excluded.epoch`,
  );
  const putIncident = db.prepare(
    `INSERT INTO shared_incident_views AS v (id, partition, village, state, opened_at, epoch, doc, updated_at)
     VALUES (@id, @partition, @village, @state, @openedAt, @epoch, @doc, @now)
     ON CONFLICT (id) DO UPDATE SET village = excluded.village, state = excluded.state,
       opened_at = excluded.opened_at, epoch = excluded.epoch, doc = excluded.doc, updated_at = excluded.updated_at
     WHERE v.epoch <= excluded.epoch`,
  );
  const getIncident = db.prepare<[string], { doc: string }>(
    'SELECT doc FROM shared_incident_views WHERE id = ?',
  );
  const put = db.transaction((partition: string, epoch: number, views: RuleViews, now: number) => {
    for (const a of views.alerts)
      putAlert.run({
        partition,
        key: a.key,
        raisedAt: a.raisedAt,
        village: a.village,
        state: a.state,
        severity: a.severity,
        rule: a.rule,
        epoch,
        doc: JSON.stringify(a),
        now,
      });
    for (const i of views.incidents)
      putIncident.run({
        id: i.id,
        partition,
        village: i.village,
        state: i.state,
        openedAt: i.openedAt,
        epoch,
        doc: JSON.stringify(i),
        now,
      });
  });
  const where = (conditions: Condition[], villages: VillageFilter) => {
    const clauses = conditions.map(([col, op]) => `${col} ${op} ?`);
    const params = conditions.map(([, , v]) => v);
    const list = villagesOf(villages);
    if (list !== undefined) {
      clauses.push(`village IN (${list.map(() => '?').join(',') || "''"})`);
      params.push(...list);
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  };
  return {
    put: async (partition, epoch, views, now) => put.immediate(partition, epoch, views, now),
    async alerts(q) {
      const w = where(alertConditions(q), q.villages);
      const rows = db
        .prepare(`SELECT doc FROM shared_alert_views ${w.sql} ORDER BY raised_at DESC, key DESC LIMIT ?`)
        .all(...w.params, q.limit) as { doc: string }[];
      return rows.map((r) => JSON.parse(r.doc) as AlertView);
    },
    async incidents(q) {
      const w = where(incidentConditions(q), q.villages);
      const rows = db
        .prepare(`SELECT doc FROM shared_incident_views ${w.sql} ORDER BY opened_at DESC, id DESC LIMIT ?`)
        .all(...w.params, q.limit) as { doc: string }[];
      return rows.map((r) => JSON.parse(r.doc) as IncidentView);
    },
    async incident(id) {
      const r = getIncident.get(id);
      return r && (JSON.parse(r.doc) as IncidentView);
    },
  };
}
