import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Last accepted uplink counter per IMEI, in SQLite under the driver's dataDir, so a restarted
 * edge still refuses an uplink it has already accepted (replay protection must survive restarts).
 */
export interface CounterStore {
  last(imei: string): number;
  /** Records `counter` as accepted; synchronous, durable (WAL, synchronous=FULL) when it returns. */
  accept(imei: string, counter: number): void;
  close(): void;
}

export function openCounterStore(dataDir: string): CounterStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'nbiot-counters.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS counters (imei TEXT PRIMARY KEY, counter INTEGER NOT NULL)');
  const cache = new Map<string, number>();
  for (const row of db.prepare('SELECT imei, counter FROM counters').all() as {
    imei: string;
    counter: number;
  }[]) {
    cache.set(row.imei, row.counter);
  }
  const upsert = db.prepare(
    'INSERT INTO counters (imei, counter) VALUES (?, ?) ON CONFLICT(imei) DO UPDATE SET counter = excluded.counter',
  );
  return {
    last: (imei) => cache.get(imei) ?? 0,
    accept(imei, counter) {
      upsert.run(imei, counter);
      cache.set(imei, counter);
    },
    close: () => db.close(),
  };
}
