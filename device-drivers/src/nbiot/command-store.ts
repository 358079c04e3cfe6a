import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The NB-IoT command queue on disk (SQLite under the driver's data dir), so a command waiting
 * for a sleeping device survives an edge restart. A row is `queued` until the device echoes its
 * id; then it keeps its outcome for a while, so the cloud's resend of the same command id (it
 * resends what it has no result for) gets that outcome instead of queuing the command twice.
 */
export interface StoredCommand {
  device: string;
  id: string;
  bytes: Uint8Array;
  /** ms epoch after which the command is given up. */
  expiresAt: number;
  /** Counter of the uplink whose response last carried it. */
  sentWith?: number;
}

export type CommandOutcome = { ok: true; confirmedBy: number } | { ok: false; error: string };

export interface CommandStore {
  queued(): StoredCommand[];
  add(c: StoredCommand): void;
  sent(device: string, id: string, counter: number): void;
  finish(device: string, id: string, outcome: CommandOutcome): void;
  /** Removes a row that was not delivered (expired). */
  drop(device: string, id: string): void;
  outcome(device: string, id: string): CommandOutcome | undefined;
  close(): void;
}

export const COMMAND_DB_FILE = 'nbiot-commands.sqlite';
/** How long a finished command's outcome is kept for resends of its id. */
const OUTCOME_KEEP_MS = 7 * 24 * 3600_000;

interface Row {
  device: string;
  id: string;
  bytes: Buffer;
  expires_at: number;
  sent_with: number | null;
  state: string;
  outcome: string | null;
}

export function openCommandStore(dataDir: string, now: () => number): CommandStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, COMMAND_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS command (
    device TEXT NOT NULL, id TEXT NOT NULL, bytes BLOB NOT NULL, expires_at INTEGER NOT NULL,
    sent_with INTEGER, state TEXT NOT NULL, outcome TEXT, updated_at INTEGER NOT NULL,
    PRIMARY KEY (device, id))`);
  db.prepare("DELETE FROM command WHERE state = 'done' AND updated_at < ?").run(now() - OUTCOME_KEEP_MS);
  const selectQueued = db.prepare<[], Row>("SELECT * FROM command WHERE state = 'queued' ORDER BY rowid");
  const insert = db.prepare(
    `INSERT INTO command (device, id, bytes, expires_at, state, updated_at) VALUES (?, ?, ?, ?, 'queued', ?)
     ON CONFLICT (device, id) DO UPDATE SET bytes = excluded.bytes, expires_at = excluded.expires_at,
       sent_with = NULL, state = 'queued', outcome = NULL, updated_at = excluded.updated_at`,
  );
  const setSent = db.prepare('UPDATE command SET sent_with = ?, updated_at = ? WHERE device = ? AND id = ?');
  const setDone = db.prepare(
    "UPDATE command SET state = 'done', outcome = ?, updated_at = ? WHERE device = ? AND id = ?",
  );
  const del = db.prepare('DELETE FROM command WHERE device = ? AND id = ?');
  const selectOutcome = db.prepare<[string, string], { outcome: string }>(
    "SELECT outcome FROM command WHERE device = ? AND id = ? AND state = 'done'",
  );
  return {
    queued: () =>
      selectQueued.all().map((r) => ({
        device: r.device,
        id: r.id,
        bytes: new Uint8Array(r.bytes),
        expiresAt: r.expires_at,
        ...(r.sent_with === null ? {} : { sentWith: r.sent_with }),
      })),
    add: (c) => {
      insert.run(c.device, c.id, Buffer.from(c.bytes), c.expiresAt, now());
    },
    sent: (device, id, counter) => {
      setSent.run(counter, now(), device, id);
    },
    finish: (device, id, outcome) => {
      setDone.run(JSON.stringify(outcome), now(), device, id);
    },
    drop: (device, id) => {
      del.run(device, id);
    },
    outcome(device, id) {
      const r = selectOutcome.get(device, id);
      return r ? (JSON.parse(r.outcome) as CommandOutcome) : undefined;
    },
    close: () => db.close(),
  };
}
