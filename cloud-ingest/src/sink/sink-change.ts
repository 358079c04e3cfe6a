import { ConfigError } from '@village/service-kit';
import type { Db } from '../store/open-database.js';
import type { SinkConfig } from './influx-config.js';

/**
 * A dataDir that holds data of the other sink: the API would answer from the new sink only, and
 * what the old one stored would silently vanish from /latest, /series and /events. Each sink
 * leaves its own tables in cloud.db (sqlite-sink.ts: `series`; influx-series-catalog.ts:
 * `influx_series`), so the data tells which sink wrote it; no marker to keep in step.
 */
const OTHER_SINK = {
  influx: { table: 'series', what: 'series stored by the SQLite sink (kind: sqlite)' },
  sqlite: { table: 'influx_series', what: 'series written to InfluxDB (kind: influx)' },
} as const;

export const ALLOW_SINK_CHANGE_FLAG = '--allow-sink-change';

/** Throws ConfigError unless the other sink left nothing here or the operator allowed the change. */
export function checkSinkChange(db: Db, sink: SinkConfig, file: string, allowed: boolean): void {
  const other = OTHER_SINK[sink.kind];
  const exists = db
    .prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
    )
    .get(other.table)!.n;
  if (exists === 0) return;
  const n = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${other.table}`).get()!.n;
  if (n === 0 || allowed) return;
  throw new ConfigError(
    `${file}: sink.kind: ${sink.kind}, but ${db.name} holds ${n} ${other.what}; after the change they no longer ` +
      `show in /api/v1/latest, /series or /events (the data stays where it is). Start with ${ALLOW_SINK_CHANGE_FLAG} to switch anyway`,
  );
}
