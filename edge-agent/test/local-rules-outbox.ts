import { type DeviceEvent, decodeBatch } from '@village/protocol';
import Database from 'better-sqlite3';

export interface StoredNumber {
  device: string;
  metric: string;
  value: unknown;
  ts: number;
}

/**
 * What a running edge's outbox holds, read from its SQLite file (WAL lets a reader in while the
 * agent writes): rows not yet cut, plus the CBOR batches decoded with the protocol codec, as the
 * cloud would receive them.
 */
export function outboxContents(path: string): { readings: StoredNumber[]; events: DeviceEvent[] } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const readings: StoredNumber[] = db
      .prepare<[], StoredNumber>('SELECT device, metric, value, ts FROM pending')
      .all();
    const events: DeviceEvent[] = db
      .prepare<[], DeviceEvent & { data: string }>(
        'SELECT device, type, severity, ts, data FROM pending_events',
      )
      .all()
      .map((e) => ({ ...e, data: JSON.parse(e.data) }));
    for (const { bytes } of db.prepare<[], { bytes: Buffer }>('SELECT bytes FROM batches').all()) {
      const b = decodeBatch(bytes);
      readings.push(...b.readings);
      events.push(...b.events);
    }
    return { readings, events };
  } finally {
    db.close();
  }
}
