import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** One device's LoRaWAN 1.0.x session: address, keys and frame counters. */
export interface Session {
  devEui: string;
  devAddr: string;
  nwkSKey: Buffer;
  appSKey: Buffer;
  /** Last accepted uplink counter (32-bit), -1 before the first uplink of the session. */
  fCntUp: number;
  /** Counter the next downlink uses. */
  fCntDown: number;
}

/**
 * Sessions, frame counters, used DevNonces and JoinNonces, in SQLite under the driver's data dir.
 * better-sqlite3 is synchronous, so a counter is on disk before the frame it guards is handled:
 * a crash never lets a replayed frame pass after a restart.
 */
export interface SessionStore {
  all(): Session[];
  get(devEui: string): Session | undefined;
  /** Installs a session (ABP config change or OTAA join) with fresh counters. */
  put(session: Session): void;
  setFCntUp(devEui: string, fCntUp: number): void;
  /** Returns the counter to use for the next downlink and advances it. */
  takeFCntDown(devEui: string): number;
  /**
   * Records a join: refuses a DevNonce already used by this DevEUI (LoRaWAN 1.0.4 §6.2.5),
   * otherwise stores it, allocates the next JoinNonce and installs the session built from it,
   * all in one transaction.
   */
  join(
    devEui: string,
    devNonce: number,
    makeSession: (joinNonce: number) => Session,
  ): Session | 'devnonce_reused';
  close(): void;
}

export const SESSION_DB_FILE = 'lorawan-sessions.sqlite';

interface SessionRow {
  dev_eui: string;
  dev_addr: string;
  nwk_s_key: Buffer;
  app_s_key: Buffer;
  fcnt_up: number;
  fcnt_down: number;
}

const toSession = (r: SessionRow): Session => ({
  devEui: r.dev_eui,
  devAddr: r.dev_addr,
  nwkSKey: r.nwk_s_key,
  appSKey: r.app_s_key,
  fCntUp: r.fcnt_up,
  fCntDown: r.fcnt_down,
});

export function openSessionStore(dataDir: string): SessionStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, SESSION_DB_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash (not a power cut mid-checkpoint), at ~10x the rate.
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS session (
      dev_eui TEXT PRIMARY KEY, dev_addr TEXT NOT NULL, nwk_s_key BLOB NOT NULL, app_s_key BLOB NOT NULL,
      fcnt_up INTEGER NOT NULL, fcnt_down INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS dev_nonce (dev_eui TEXT NOT NULL, dev_nonce INTEGER NOT NULL, PRIMARY KEY (dev_eui, dev_nonce));
    CREATE TABLE IF NOT EXISTS join_nonce (dev_eui TEXT PRIMARY KEY, next INTEGER NOT NULL);
  `);
  const selectAll = db.prepare<[], SessionRow>('SELECT * FROM session');
  const selectOne = db.prepare<[string], SessionRow>('SELECT * FROM session WHERE dev_eui = ?');
  const upsert = db.prepare(
    `INSERT INTO session (dev_eui, dev_addr, nwk_s_key, app_s_key, fcnt_up, fcnt_down, updated_at)
     VALUES (@devEui, @devAddr, @nwkSKey, @appSKey, @fCntUp, @fCntDown, @now)
     ON CONFLICT (dev_eui) DO UPDATE SET dev_addr = excluded.dev_addr, nwk_s_key = excluded.nwk_s_key,
       app_s_key = excluded.app_s_key, fcnt_up = excluded.fcnt_up, fcnt_down = excluded.fcnt_down,
       updated_at = excluded.updated_at`,
  );
  const updateUp = db.prepare('UPDATE session SET fcnt_up = ?, updated_at = ? WHERE dev_eui = ?');
  const bumpDown = db.prepare(
    'UPDATE session SET fcnt_down = fcnt_down + 1, updated_at = ? WHERE dev_eui = ? RETURNING fcnt_down - 1 AS used',
  );
  const insertNonce = db.prepare('INSERT OR IGNORE INTO dev_nonce (dev_eui, dev_nonce) VALUES (?, ?)');
  const nextJoinNonce = db.prepare<[string], { used: number }>(
    `INSERT INTO join_nonce (dev_eui, next) VALUES (?, 1)
     ON CONFLICT (dev_eui) DO UPDATE SET next = next + 1 RETURNING next - 1 AS used`,
  );

  const put = (s: Session) => upsert.run({ ...s, nwkSKey: s.nwkSKey, appSKey: s.appSKey, now: Date.now() });

  const joinTx = db.transaction((devEui: string, devNonce: number, makeSession: (n: number) => Session) => {
    if (insertNonce.run(devEui, devNonce).changes === 0) return 'devnonce_reused' as const;
    const joinNonce = nextJoinNonce.get(devEui)!.used & 0xffffff;
    const session = makeSession(joinNonce);
    put(session);
    return session;
  });

  return {
    all: () => selectAll.all().map(toSession),
    get: (devEui) => {
      const row = selectOne.get(devEui);
      return row ? toSession(row) : undefined;
    },
    put,
    setFCntUp: (devEui, fCntUp) => {
      updateUp.run(fCntUp, Date.now(), devEui);
    },
    takeFCntDown: (devEui) => (bumpDown.get(Date.now(), devEui) as { used: number }).used,
    join: (devEui, devNonce, makeSession) => joinTx(devEui, devNonce, makeSession),
    close: () => db.close(),
  };
}
