import type { Db } from '../store/open-database.js';
import type { NotificationMessage } from './notifier.js';

/** One delivery of one notification on one channel: the delivery log. */
export interface Delivery {
  id: number;
  key: string;
  channel: string;
  incidentId: string;
  village: string;
  level: string;
  place: string;
  reason: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAt: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  /** When each attempt was made, ms epoch. */
  attemptsAt: number[];
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, incident_id TEXT NOT NULL,
    village TEXT NOT NULL, level TEXT NOT NULL, place TEXT NOT NULL, reason TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER,
    last_error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER,
    attempts_at JSON NOT NULL DEFAULT '[]');
  CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_at) WHERE state = 'pending';
  CREATE INDEX IF NOT EXISTS notifications_by_incident ON notifications (incident_id);
`;

interface Row {
  id: number;
  key: string;
  channel: string;
  incident_id: string;
  village: string;
  level: string;
  place: string;
  reason: string;
  body: string;
  state: Delivery['state'];
  attempts: number;
  next_at: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  attempts_at: string;
}

const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  key: r.key,
  channel: r.channel,
  incidentId: r.incident_id,
  village: r.village,
  level: r.level,
  place: r.place,
  reason: r.reason,
  state: r.state,
  attempts: r.attempts,
  nextAt: r.next_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  attemptsAt: JSON.parse(r.attempts_at),
});

export interface PendingDelivery {
  id: number;
  channel: string;
  attempts: number;
  body: string;
  message: NotificationMessage;
}

export interface DeliveryStore {
  /** Adds a pending delivery unless one with this key exists (a replayed input). */
  insert(channel: string, m: NotificationMessage, body: string, now: number): void;
  due(now: number, limit: number): PendingDelivery[];
  nextDueAt(): number | null;
  delivered(id: number, now: number): void;
  /** Records a failed attempt: retry at `nextAt`, or give up (`nextAt` null). */
  failed(id: number, error: string, now: number, nextAt: number | null): void;
  byIncident(incidentId: string): Delivery[];
  /** The deliveries of these keys that exist (for the shared delivery log, notify/shared-delivery-log.ts). */
  byKeys(keys: readonly string[]): Delivery[];
  /** The keys of the deliveries queued at or after `since`, ms epoch. */
  keysSince(since: number): string[];
}

export function openDeliveryStore(db: Db): DeliveryStore {
  db.exec(SCHEMA);
  const insert = db.prepare(
    `INSERT OR IGNORE INTO notifications (key, channel, incident_id, village, level, place, reason, body, state, next_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
  );
  const due = db.prepare<[number, number], Row>(
    "SELECT * FROM notifications WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?",
  );
  const nextDue = db.prepare<[], { t: number | null }>(
    "SELECT MIN(next_at) AS t FROM notifications WHERE state = 'pending'",
  );
  const delivered = db.prepare(
    `UPDATE notifications SET state = 'delivered', attempts = attempts + 1, delivered_at = @now, next_at = NULL,
       attempts_at = json_insert(attempts_at, '$[#]', @now) WHERE id = @id`,
  );
  const failed = db.prepare(
    `UPDATE notifications SET attempts = attempts + 1, last_error = @error, next_at = @nextAt,
       state = CASE WHEN @nextAt IS NULL THEN 'failed' ELSE 'pending' END,
       attempts_at = json_insert(attempts_at, '$[#]', @now) WHERE id = @id`,
  );
  const byIncident = db.prepare<[string], Row>(
    'SELECT * FROM notifications WHERE incident_id = ? ORDER BY id',
  );
  const keysSince = db.prepare<[number], { key: string }>(
    'SELECT key FROM notifications WHERE created_at >= ? ORDER BY id',
  );
  const byKeys = db.prepare<[string], Row>(
    'SELECT * FROM notifications WHERE key IN (SELECT value FROM json_each(?)) ORDER BY id',
  );
  return {
    insert(channel, m, body, now) {
      insert.run(m.deliveryKey, channel, m.incidentId, m.village, m.level, m.place, m.reason, body, now, now);
    },
    due: (now, limit) =>
      due.all(now, limit).map((r) => ({
        id: r.id,
        channel: r.channel,
        attempts: r.attempts,
        body: r.body,
        message: {
          deliveryKey: r.key,
          incidentId: r.incident_id,
          village: r.village,
          level: r.level,
          place: r.place,
          reason: r.reason as NotificationMessage['reason'],
        },
      })),
    nextDueAt: () => nextDue.get()?.t ?? null,
    delivered(id, now) {
      delivered.run({ id, now });
    },
    failed(id, error, now, nextAt) {
      failed.run({ id, error: error.slice(0, 500), now, nextAt });
    },
    byIncident: (incidentId) => byIncident.all(incidentId).map(toDelivery),
    byKeys: (keys) => byKeys.all(JSON.stringify(keys)).map(toDelivery),
    keysSince: (since) => keysSince.all(since).map((r) => r.key),
  };
}
