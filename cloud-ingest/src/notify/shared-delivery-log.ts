import type { Logger } from 'pino';
import type { Db } from '../store/open-database.js';
import { type Delivery, openDeliveryStore } from './delivery-store.js';

/**
 * The notification delivery log every host reads with several hosts (docs/rules-across-hosts.md
 * "Where alerts and incidents are served from"): each delivery is queued and sent by one host —
 * the village's holder for its notices, whichever host's deadline firer fired an escalation —
 * and kept in that host's cloud.db; each host copies its deliveries here as they change, so an
 * incident's log on any host has them all. `id` is the sending host's own row id.
 */
export interface DeliveryLogStore {
  /** Upserts deliveries as they stand now, by delivery key. */
  put(deliveries: readonly Delivery[]): Promise<void>;
  /** An incident's deliveries, in the order they were queued. */
  byIncident(incidentId: string): Promise<Delivery[]>;
}

/**
 * The log in a cloud.db table: the SQLite SharedStore's (one host, several workers on one file,
 * and the suite), with the same meaning as PostgreSQL's (shared-store/postgres-deliveries.ts).
 */
export function openDeliveryLogStore(db: Db): DeliveryLogStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS shared_deliveries (
      key TEXT PRIMARY KEY, incident_id TEXT NOT NULL, created_at INTEGER NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS shared_deliveries_by_incident ON shared_deliveries (incident_id, created_at);
  `);
  const upsert = db.prepare<[string, string, number, string]>(
    `INSERT INTO shared_deliveries (key, incident_id, created_at, doc) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET doc = excluded.doc`,
  );
  const byIncident = db.prepare<[string], { doc: string }>(
    'SELECT doc FROM shared_deliveries WHERE incident_id = ? ORDER BY created_at, key',
  );
  const put = db.transaction((deliveries: readonly Delivery[]) => {
    for (const d of deliveries) upsert.run(d.key, d.incidentId, d.createdAt, JSON.stringify(d));
  });
  return {
    put: async (deliveries) => put.immediate(deliveries),
    byIncident: async (id) => byIncident.all(id).map((r) => JSON.parse(r.doc) as Delivery),
  };
}

/** After a failed copy, the next attempt waits this long, ms. */
const RETRY_MS = 1_000;
/** At start, the deliveries queued this far back are copied again, ms. */
const RECOPY_MS = 24 * 3_600_000;

/**
 * Copies this host's changed deliveries (by key, from its cloud.db) into the shared log, behind
 * the dispatcher: `changed` is called inside the rules' projection transaction, so the rows are
 * read when the copy runs, after that commit (a rolled-back row is not there, and is not copied).
 * A copy that fails keeps its keys for the next attempt (RETRY_MS later): the log is complete
 * once the store answers again. At start it copies the last RECOPY_MS of deliveries again: what a
 * host that stopped or died before its copies went through left out of the shared log.
 */
export function startDeliveryLogCopy(deps: {
  db: Db;
  shared: DeliveryLogStore;
  log: Logger;
  now(): number;
}): {
  changed(key: string): void;
  /** Copies what changed up to now (the close calls it once more). */
  flush(): Promise<void>;
  close(): Promise<void>;
} {
  const local = openDeliveryStore(deps.db);
  const dirty = new Set<string>();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function flush(): Promise<void> {
    running ??= (async () => {
      while (dirty.size > 0) {
        const keys = [...dirty];
        dirty.clear();
        try {
          await deps.shared.put(local.byKeys(keys));
        } catch (err) {
          for (const k of keys) dirty.add(k);
          deps.log.warn(
            { err: (err as Error).message, deliveries: keys.length },
            'shared delivery log: copy failed, will retry',
          );
          if (!closed) later(RETRY_MS);
          return;
        }
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  /** One copy `ms` from now, unless one is due already. */
  function later(ms: number): void {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, ms);
  }

  for (const k of local.keysSince(deps.now() - RECOPY_MS)) dirty.add(k);
  if (dirty.size > 0) later(0);

  return {
    changed(key) {
      dirty.add(key);
      if (!closed) later(0);
    },
    flush,
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
      await flush();
    },
  };
}
