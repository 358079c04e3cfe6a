import type { IncidentView } from '../rules-runtime/incident-view.js';
import {
  type Condition,
  type RuleViewStore,
  alertConditions,
  incidentConditions,
  villagesOf,
} from '../rules-runtime/rule-view-store.js';
import type { AlertView, VillageFilter } from '../rules-runtime/rules-store.js';
import type { Query } from './postgres-query.js';

/**
 * Alerts and incidents as the API shows them, in PostgreSQL (`store.kind: postgres`): each
 * village's partition is held by one host, but an officer's list may reach any host, so the
 * holder writes what it changed here and every host reads it (rules-runtime/rule-view-store.ts).
 */
export const RULE_VIEWS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_alert_views (
    partition TEXT NOT NULL, key TEXT NOT NULL, raised_at BIGINT NOT NULL, village TEXT NOT NULL,
    state TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL, epoch BIGINT NOT NULL,
    doc JSONB NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (partition, key, raised_at));
  CREATE INDEX IF NOT EXISTS shared_alert_views_raised ON shared_alert_views (raised_at);
  CREATE TABLE IF NOT EXISTS shared_incident_views (
    id TEXT PRIMARY KEY, partition TEXT NOT NULL, village TEXT NOT NULL, state TEXT NOT NULL,
    opened_at BIGINT NOT NULL, epoch BIGINT NOT NULL, doc JSONB NOT NULL, updated_at BIGINT NOT NULL);
  CREATE INDEX IF NOT EXISTS shared_incident_views_opened ON shared_incident_views (opened_at);
`;

// One statement for all the rows of a commit (one durable commit); a row written at a higher epoch
// is kept. $1 partition, $2 epoch, $3 now; the alerts' columns from $4, the incidents' from $11.
const PUT_ALERTS = `
  INSERT INTO shared_alert_views AS v (partition, key, raised_at, village, state, severity, rule, epoch, doc, updated_at)
  SELECT $1, u.key, u.raised_at, u.village, u.state, u.severity, u.rule, $2, u.doc, $3
    FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])
      AS u(key, raised_at, village, state, severity, rule, doc)
  ON CONFLICT (partition, key, raised_at) DO UPDATE
    SET village = EXCLUDED.village, state = EXCLUDED.state, severity = EXCLUDED.severity, rule = EXCLUDED.rule,
        epoch = EXCLUDED.epoch, doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at
    WHERE v.epoch <= EXCLUDED.epoch`;
const PUT_INCIDENTS = `
  INSERT INTO shared_incident_views AS v (id, partition, village, state, opened_at, epoch, doc, updated_at)
  SELECT u.id, $1, u.village, u.state, u.opened_at, $2, u.doc, $3
    FROM unnest($11::text[], $12::text[], $13::text[], $14::bigint[], $15::jsonb[]) AS u(id, village, state, opened_at, doc)
  ON CONFLICT (id) DO UPDATE
    SET village = EXCLUDED.village, state = EXCLUDED.state, opened_at = EXCLUDED.opened_at,
        epoch = EXCLUDED.epoch, doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at
    WHERE v.epoch <= EXCLUDED.epoch`;
const PUT = `WITH alerts AS (${PUT_ALERTS}) ${PUT_INCIDENTS}`;

/** The WHERE clause of the conditions and the caller's villages, with $n placeholders. */
function where(conditions: Condition[], villages: VillageFilter) {
  const params: unknown[] = [];
  const clauses = conditions.map(([col, op, v]) => {
    params.push(v);
    return `${col} ${op} $${params.length}`;
  });
  const list = villagesOf(villages);
  if (list !== undefined) {
    params.push(list);
    clauses.push(`village = ANY($${params.length}::text[])`);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** ON CONFLICT may touch a row once per statement: the last view of each row of the commit. */
const lastOf = <T>(rows: readonly T[], key: (r: T) => string) => [
  ...new Map(rows.map((r) => [key(r), r])).values(),
];

export function postgresRuleViews(q: Query): RuleViewStore {
  return {
    async put(partition, epoch, views, now) {
      const alerts = lastOf(views.alerts, (a) => `${a.key}\u0000${a.raisedAt}`);
      const incidents = lastOf(views.incidents, (i) => i.id);
      if (alerts.length === 0 && incidents.length === 0) return;
      await q(PUT, [
        partition,
        epoch,
        now,
        alerts.map((a) => a.key),
        alerts.map((a) => a.raisedAt),
        alerts.map((a) => a.village),
        alerts.map((a) => a.state),
        alerts.map((a) => a.severity),
        alerts.map((a) => a.rule),
        alerts.map((a) => JSON.stringify(a)),
        incidents.map((i) => i.id),
        incidents.map((i) => i.village),
        incidents.map((i) => i.state),
        incidents.map((i) => i.openedAt),
        incidents.map((i) => JSON.stringify(i)),
      ]);
    },
    async alerts(query) {
      const w = where(alertConditions(query), query.villages);
      const rows = await q<{ doc: AlertView }>(
        `SELECT doc FROM shared_alert_views ${w.sql}
          ORDER BY raised_at DESC, key COLLATE "C" DESC LIMIT $${w.params.length + 1}`,
        [...w.params, query.limit],
      );
      return rows.map((r) => r.doc);
    },
    async incidents(query) {
      const w = where(incidentConditions(query), query.villages);
      const rows = await q<{ doc: IncidentView }>(
        `SELECT doc FROM shared_incident_views ${w.sql}
          ORDER BY opened_at DESC, id COLLATE "C" DESC LIMIT $${w.params.length + 1}`,
        [...w.params, query.limit],
      );
      return rows.map((r) => r.doc);
    },
    async incident(id) {
      const [r] = await q<{ doc: IncidentView }>('SELECT doc FROM shared_incident_views WHERE id = $1', [id]);
      return r?.doc;
    },
  };
}
