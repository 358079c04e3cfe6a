import { expandEnvReferences } from '@village/service-kit';
import { z } from 'zod';

/** A config string that may hold `${ENV}` references (expanded at load; an unset variable is a config error). */
export const secretString = z.string().transform((v, ctx) => {
  try {
    return expandEnvReferences(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * `sink:` section of cloud.yaml. `kind: sqlite` (the default) keeps readings in the cloud's own
 * SQLite file; `kind: influx` writes them to InfluxDB and answers history queries with InfluxQL.
 */
export const influxSinkSchema = z.strictObject({
  kind: z.literal('influx'),
  /** Base URL of the InfluxDB HTTP API, e.g. http://127.0.0.1:8086. */
  url: z.string().url(),
  /**
   * `v1`: InfluxDB 1.x before 1.8 (Debian's 1.6.7): writes go to /write (the client's
   * /api/v2/write is rewritten). `v2`: InfluxDB 1.8+, 2.x and 3.x through /api/v2/write.
   * History queries use InfluxQL over /query on both (2.x needs a DBRP mapping for the bucket).
   * Left out: chosen at start from /ping's X-Influxdb-Version (sink/influx-startup.ts).
   */
  api: z.enum(['v1', 'v2']).optional(),
  /** v1: database name; v2 on 1.8: also the database (the bucket is `database/retentionPolicy`). */
  database: z.string().min(1).default('village'),
  /** Create `database` at start when InfluxDB lacks it (needs an admin user when auth is on); else a missing one stops the start. */
  createDatabase: z.boolean().default(false),
  /** Retention policy; empty = the database's default. */
  retentionPolicy: z.string().default(''),
  /** v2 on 2.x/3.x: the bucket (defaults to `database/retentionPolicy`, the 1.8 convention). */
  bucket: z.string().min(1).optional(),
  /** v2 on 2.x: the organisation. */
  org: z.string().default(''),
  /** v2: API token (`${ENV}`); on 1.8 `username:password`. */
  token: secretString.optional(),
  /** v1: user name and password (`${ENV}`) when InfluxDB has auth-enabled. */
  username: secretString.optional(),
  password: secretString.optional(),
  /** Lines per HTTP write request (the client splits a larger batch). */
  linesPerRequest: z.number().int().min(1).max(100_000).default(5_000),
  /** The client's retry of a failed write: attempts after the first, and the longest time spent, ms. */
  maxRetries: z.number().int().min(0).default(10),
  maxRetryTimeMs: z.number().int().min(1_000).default(60_000),
  /** Delay before the first retry, ms, growing ×2 up to maxRetryDelayMs. */
  minRetryDelayMs: z.number().int().min(1).default(500),
  maxRetryDelayMs: z.number().int().min(1).default(5_000),
  /**
   * Lines the client's retry buffer may hold. One batch is in flight to the sink at a time, so
   * this bounds memory while InfluxDB is down; it must hold the largest batch (edge
   * outbox.batchMaxReadings; 100,000 lines ≈ 15 MB).
   */
  maxBufferLines: z.number().int().min(1_000).default(100_000),
  /** HTTP timeout of one request, ms. */
  timeoutMs: z.number().int().min(100).default(10_000),
  /** Measurement of device events (readings go to one measurement per device kind). */
  eventsMeasurement: z.string().min(1).default('events'),
});

export type InfluxSinkConfig = z.infer<typeof influxSinkSchema>;

export const sinkSchema = z
  .discriminatedUnion('kind', [z.strictObject({ kind: z.literal('sqlite') }), influxSinkSchema])
  .prefault({ kind: 'sqlite' });

export type SinkConfig = z.infer<typeof sinkSchema>;
