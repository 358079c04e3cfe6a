import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Each device's downlink queue in SQLite under the driver's data dir, so frames queued by a
 * command survive an edge restart (class A devices may not uplink for hours). A row is an
 * application frame (`fPort` 1..223) or MAC commands to piggyback (`fPort` 0, the CID bytes).
 * An unconfirmed frame leaves the queue when it is sent; a confirmed one stays, with its attempt
 * count, until the device acknowledges it or the retries run out.
 */
export interface QueuedRow {
  id: number;
  deviceId: string;
  /** The command that queued it (reported when it fails). */
  commandId: string;
  fPort: number;
  payload: Buffer;
  confirmed: boolean;
  /** Times sent; > 0 for a confirmed frame waiting for its ACK. */
  attempts: number;
}

export interface DownlinkQueue {
  enqueue(row: Omit<QueuedRow, 'id' | 'attempts'>): number;
  /** Application frames waiting (or waiting for their ACK) for this device. */
  depth(deviceId: string): number;
  /** The first application frame: the one in flight, if any, else the oldest queued. */
  head(deviceId: string): QueuedRow | undefined;
  /** MAC-command rows (fPort 0) waiting for this device. */
  macRows(deviceId: string): QueuedRow[];
  /** Counts one transmission; unconfirmed rows (and MAC rows) are done and removed. */
  markSent(row: QueuedRow): void;
  remove(id: number): void;
  /** Drops everything for the device (a join starts a new session); returns how many. */
  clear(deviceId: string): number;
  close(): void;
}

export const DOWNLINK_DB_FILE = 'lorawan-downlinks.sqlite';

interface Row {
  id: number;
  device_id: string;
  command_id: string;
  fport: number;
  payload: Buffer;
  confirmed: number;
  attempts: number;
}

const toRow = (r: Row): QueuedRow => ({
  id: r.id,
  deviceId: r.device_id,
  commandId: r.command_id,
  fPort: r.fport,
  payload: r.payload,
  confirmed: r.confirmed === 1,
  attempts: r.attempts,
});

export function openDownlinkQueue(dataDir: string): DownlinkQueue {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DOWNLINK_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS downlink (
      id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, command_id TEXT NOT NULL,
      fport INTEGER NOT NULL, payload BLOB NOT NULL, confirmed INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS downlink_device ON downlink (device_id, id);
  `);
  const insert = db.prepare(
    `INSERT INTO downlink (device_id, command_id, fport, payload, confirmed, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const count = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM downlink WHERE device_id = ? AND fport > 0',
  );
  const first = db.prepare<[string], Row>(
    'SELECT * FROM downlink WHERE device_id = ? AND fport > 0 ORDER BY attempts = 0, id LIMIT 1',
  );
  const macs = db.prepare<[string], Row>(
    'SELECT * FROM downlink WHERE device_id = ? AND fport = 0 ORDER BY id',
  );
  const bump = db.prepare('UPDATE downlink SET attempts = attempts + 1 WHERE id = ?');
  const del = db.prepare('DELETE FROM downlink WHERE id = ?');
  const delDevice = db.prepare('DELETE FROM downlink WHERE device_id = ?');
  return {
    enqueue(r) {
      insert.run(r.deviceId, r.commandId, r.fPort, r.payload, r.confirmed ? 1 : 0, Date.now());
      return r.fPort > 0 ? count.get(r.deviceId)!.n : macs.all(r.deviceId).length;
    },
    depth: (deviceId) => count.get(deviceId)!.n,
    head(deviceId) {
      const r = first.get(deviceId);
      return r ? toRow(r) : undefined;
    },
    macRows: (deviceId) => macs.all(deviceId).map(toRow),
    markSent(row) {
      if (row.confirmed && row.fPort > 0) bump.run(row.id);
      else del.run(row.id);
    },
    remove: (id) => {
      del.run(id);
    },
    clear: (deviceId) => delDevice.run(deviceId).changes,
    close: () => db.close(),
  };
}
