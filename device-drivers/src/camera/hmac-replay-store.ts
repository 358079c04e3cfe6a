import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The newest accepted HMAC timestamp per camera, on the edge disk. HMAC-signed pushes must carry
 * a strictly increasing timestamp (camera-auth.ts); kept only in memory, that mark was lost at
 * every edge restart, and a request recorded up to `hmacSkewMs` before the restart was accepted
 * again after it. The mark is written before the request is answered, so a crash right after
 * cannot reopen the window.
 */
export const HMAC_REPLAY_DB_FILE = 'camera-hmac.sqlite';

export interface HmacReplayStore {
  last(cameraId: string): number;
  /** Records `ts` as the camera's newest accepted timestamp (callers only ever raise it). */
  accept(cameraId: string, ts: number): void;
  close(): void;
}

export function openHmacReplayStore(dataDir: string): HmacReplayStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, HMAC_REPLAY_DB_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash, which is the restart this protects against.
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS hmac_last (camera TEXT PRIMARY KEY, ts INTEGER NOT NULL)');
  const select = db.prepare<[string], { ts: number }>('SELECT ts FROM hmac_last WHERE camera = ?');
  const upsert = db.prepare(
    'INSERT INTO hmac_last (camera, ts) VALUES (?, ?) ON CONFLICT (camera) DO UPDATE SET ts = excluded.ts',
  );
  return {
    last: (cameraId) => select.get(cameraId)?.ts ?? 0,
    accept: (cameraId, ts) => {
      upsert.run(cameraId, ts);
    },
    close: () => db.close(),
  };
}
