import { HttpError, InfluxDB, type WriteApi, setLogger } from '@influxdata/influxdb-client';
import type { Quality, Value } from '@village/protocol';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { DeadLetterStore } from '../store/dead-letter-store.js';
import type { Db } from '../store/open-database.js';
import type { RegistryStore } from '../store/registry-store.js';
import type { InfluxSinkConfig } from './influx-config.js';
import { deviceKinds } from './influx-device-kinds.js';
import { type InfluxPoint, batchToPoints, fieldNames, flagLines } from './influx-line-protocol.js';
import { InfluxQueryError, type InfluxSeries, ident, influxQuery, literal } from './influx-query.js';
import type { CatalogSeries, SeriesCatalog } from './influx-series-catalog.js';
import { v1WriteTransport } from './influx-v1-transport.js';
import { DEFAULT_TIME_WINDOW, type TimeWindow, latestRange } from './reading-time-window.js';
import type {
  EventQuery,
  GroupItem,
  LatestValue,
  SeriesBucket,
  Sink,
  SinkBatch,
  SinkWriteResult,
  StoredEvent,
} from './sink.js';

/** InfluxDB did not accept a batch in the time and attempts the client allows: the batch is not acked. */
export class InfluxWriteError extends Error {
  override name = 'InfluxWriteError';
}

export interface InfluxSinkDeps {
  /** The cloud's SQLite: the seq state is recorded in one transaction of it per group. */
  db: Db;
  /**
   * Which series exist (influx-series-catalog.ts): cloud.db's (`openSeriesCatalog(db)`) on one
   * host, the SharedStore's with several hosts, so every host's history sees what any host wrote.
   */
  catalog: SeriesCatalog;
  registry: RegistryStore;
  log: Logger;
  metricsRegistry: Registry;
  /** Where a point InfluxDB refuses for good goes (a field type conflict with data already stored). */
  deadLetters: DeadLetterStore;
  /** Which reading times may be `latest` (ingest.maxClockSkewMs, ingest.minTimestamp); default reading-time-window.ts. */
  timeWindow?: TimeWindow;
  /** ms epoch clock, for the `latest` time window. Default Date.now. */
  now?(): number;
}

interface PendingWrite {
  /** The batch's lines, to tell its chunks from leftovers of an earlier, failed batch. */
  lines: Set<string>;
  remaining: number;
  /** Lines of requests InfluxDB answered with 400 (it wrote the rest of such a request). */
  refused: string[];
  /** The last 400's message. */
  refusedError: string;
  resolve(): void;
  reject(err: Error): void;
}

/** A 400's message names a type conflict when a field's type differs from the stored one. */
const refusalReason = (message: string) =>
  /field type conflict/i.test(message) ? 'field_type_conflict' : 'sink_refused';

/**
 * The InfluxDB sink: points are written with the client's batching and retry, and the sink waits
 * until InfluxDB has accepted every line of the batch (or of the group of batches) before it calls
 * `recordState` (the seq is then recorded, and acked, only for durable points). One write at a time is in flight; while
 * InfluxDB is down the client retries it (bounded by maxRetries/maxRetryTimeMs) and nothing else
 * is read, so the edges keep their backlog and the cloud's memory stays flat.
 * History (`latest`, `series`, `events`) is InfluxQL over /query.
 */
export function createInfluxSink(config: InfluxSinkConfig, deps: InfluxSinkDeps): Sink {
  const { log } = deps;
  const headers: Record<string, string> = {};
  if (config.api === 'v1' && config.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
  }
  // The client logs every failed attempt with the whole response to the console; the sink logs
  // each failure itself (writeFailed below), so the client's own lines go to debug.
  setLogger({
    error: (message, err) =>
      log.debug({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
    warn: (message, err) =>
      log.debug({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
  });
  const connection = { url: config.url, token: config.token, timeout: config.timeoutMs, headers };
  const plain = new InfluxDB(connection);
  const influx =
    config.api === 'v1'
      ? new InfluxDB({ ...connection, transport: v1WriteTransport(plain.transport) })
      : plain;
  const transport = influx.transport;
  const bucket =
    config.bucket ??
    (config.retentionPolicy ? `${config.database}/${config.retentionPolicy}` : config.database);

  const writeFailures = new Counter({
    name: 'cloud_influx_write_failures_total',
    help: 'Failed InfluxDB write requests (each attempt), by HTTP status or error name',
    labelNames: ['reason'],
    registers: [deps.metricsRegistry],
  });
  const pointsRefused = new Counter({
    name: 'cloud_influx_lines_refused_total',
    help: 'Lines InfluxDB refused for good (400: bad line or field type conflict), each kept as a dead letter; the rest of their batch was written',
    registers: [deps.metricsRegistry],
  });

  let pending: PendingWrite | undefined;
  const ownLines = (lines: string[]) =>
    pending !== undefined && lines.length > 0 && pending.lines.has(lines[0]!);
  const settle = (p: PendingWrite, n: number) => {
    p.remaining -= n;
    if (p.remaining <= 0) p.resolve();
  };

  const writeApi: WriteApi = influx.getWriteApi(config.org, bucket, 'ms', {
    batchSize: config.linesPerRequest,
    // No timer: the sink flushes each batch itself and waits for it.
    flushInterval: 0,
    maxRetries: config.maxRetries,
    maxRetryTime: config.maxRetryTimeMs,
    minRetryDelay: config.minRetryDelayMs,
    maxRetryDelay: config.maxRetryDelayMs,
    exponentialBase: 2,
    retryJitter: 100,
    maxBufferLines: config.maxBufferLines,
    writeSuccess(lines) {
      if (ownLines(lines)) settle(pending!, lines.length);
    },
    writeFailed(error, lines, attempt) {
      const status = error instanceof HttpError ? error.statusCode : undefined;
      writeFailures.inc({ reason: status === undefined ? error.name : String(status) });
      if (!ownLines(lines)) return;
      const p = pending!;
      if (status === 400) {
        // A bad line or a field type conflict: InfluxDB wrote the rest of the request ("partial
        // write"), and a resend can never fix it. Which lines it dropped it does not say: the
        // commit writes them again one by one and dead-letters those refused alone.
        p.refused.push(...lines);
        p.refusedError = error.message;
        log.warn(
          { err: error.message, lines: lines.length },
          'InfluxDB refused part of a write request; finding the refused lines',
        );
        settle(p, lines.length);
        return;
      }
      const retriable = status === undefined || status >= 429;
      const final = !retriable || attempt > config.maxRetries || /max retry time/i.test(error.message);
      log.warn({ err: error.message, status, attempt, final }, 'InfluxDB write failed');
      if (final) {
        p.reject(
          new InfluxWriteError(
            `InfluxDB did not accept the batch after ${attempt} attempt(s): ${error.message}`,
          ),
        );
      }
    },
    writeRetrySkipped(entry) {
      if (ownLines(entry.lines))
        pending!.reject(new InfluxWriteError('the client dropped the batch from its retry buffer'));
    },
  });

  /** Resolves once InfluxDB took every line, with the lines of requests it refused (400). */
  const writeDurably = (lines: string[]) =>
    new Promise<{ refused: string[]; error: string }>((resolve, reject) => {
      const p: PendingWrite = {
        lines: new Set(lines),
        remaining: lines.length,
        refused: [],
        refusedError: '',
        resolve: () => resolve({ refused: p.refused, error: p.refusedError }),
        reject,
      };
      pending = p;
      writeApi.writeRecords(lines);
      // Rejects on the first failure while the client retries in the background: `pending` tells the outcome.
      writeApi.flush().catch(() => {});
    }).finally(() => {
      pending = undefined;
    });

  const { catalog } = deps;
  const timeWindow = deps.timeWindow ?? DEFAULT_TIME_WINDOW;
  const measurementOf = deviceKinds(deps.registry);
  const query = (statements: string[]) =>
    influxQuery(transport, config.database, config.retentionPolicy, statements);
  const from = (measurements: readonly string[]) => measurements.map(ident).join(', ');
  // One batch at a time, whoever calls: the pending-write bookkeeping assumes it.
  let queue: Promise<unknown> = Promise.resolve();

  /**
   * The lines InfluxDB refuses on their own, with its message, out of the lines of requests it
   * refused (400; it wrote their other lines): halves are written again (a line it already took is
   * overwritten with itself) and only a refused half is split further, so one bad line among n
   * costs about 2·log2(n) requests, not n.
   */
  async function refusedAlone(refused: string[], error: string): Promise<Map<string, string>> {
    const bad = new Map<string, string>();
    const bisect = async (lines: string[], err: string): Promise<void> => {
      if (lines.length === 1) {
        bad.set(lines[0]!, err);
        return;
      }
      const mid = Math.ceil(lines.length / 2);
      for (const half of [lines.slice(0, mid), lines.slice(mid)]) {
        const again = await writeDurably(half);
        if (again.refused.length > 0) await bisect(again.refused, again.error);
      }
    };
    await bisect(refused, error);
    return bad;
  }

  /**
   * Each point of `batch` InfluxDB refused on its own is kept as a dead letter, as the readings or
   * event it holds, durably (awaited: in PostgreSQL with several hosts) before the batch's seq is
   * recorded and acked. Returns how many.
   */
  async function deadLetterRefused(
    batch: SinkBatch,
    points: InfluxPoint[],
    bad: Map<string, string>,
  ): Promise<number> {
    let n = 0;
    for (const p of points) {
      const error = bad.get(p.line);
      if (error === undefined) continue;
      const reason = refusalReason(error);
      const letter = await deps.deadLetters.add({
        kind: 'point',
        edge: batch.edgeId,
        seq: null,
        reason,
        detail: `${error} (line: ${p.line.slice(0, 500)})`,
        bytes: Buffer.from(JSON.stringify({ ...batch, readings: p.readings, events: p.events }), 'utf8'),
        at: batch.receivedAt,
      });
      pointsRefused.inc();
      log.error(
        { edge: batch.edgeId, reason, deadLetter: letter.id, err: error },
        'InfluxDB refused a point for good; kept as a dead letter (the rest of the batch is stored)',
      );
      n++;
    }
    return n;
  }

  /**
   * Group commit: the points of every batch of the group in one write (the client cuts it into
   * requests of `linesPerRequest` lines), then every batch's seq state in one SQLite transaction.
   * A fleet of small batches then costs InfluxDB a few large requests instead of one tiny request
   * per batch, waited for one after the other. Not atomic in InfluxDB: if anything fails the
   * promise rejects, nothing is recorded, and the points written so far are keyed (device,
   * metric, time), so the retry of the group's halves overwrites them with themselves.
   */
  function commitGroup(items: readonly GroupItem[]): Promise<SinkWriteResult[]> {
    const run = async () => {
      // The catalog first, for the whole group at once: never points without their series' row.
      await catalog.note(
        items.map(({ batch }) => batch),
        measurementOf,
      );
      const pointsOf = items.map(({ batch }) =>
        batchToPoints(batch, measurementOf, config.eventsMeasurement),
      );
      const lines = pointsOf.flatMap((points) => points.map((p) => p.line));
      const written = lines.length > 0 ? await writeDurably(lines) : { refused: [], error: '' };
      const bad = written.refused.length > 0 ? await refusedAlone(written.refused, written.error) : new Map();
      // The letters are stored before the seqs are recorded below: a failure to keep them fails
      // the group (not acked, the edges resend), as an InfluxDB failure does.
      const deadLettered: number[] = [];
      for (const [i, { batch }] of items.entries())
        deadLettered.push(bad.size > 0 ? await deadLetterRefused(batch, pointsOf[i]!, bad) : 0);
      // The local state in one SQLite transaction, after InfluxDB accepted every point.
      deps.db.transaction(() => {
        for (const item of items) item.recordState();
      })();
      // Rewrites overwrite silently in InfluxDB (same measurement, tags and time); dedupe by seq
      // keeps them to the crash-between-write-and-record case, so they are not counted here.
      return items.map(
        ({ batch }, i): SinkWriteResult => ({
          readings: batch.readings.length,
          events: batch.events.length,
          rewrites: 0,
          // Left out when none were, as the SQLite sink (which never dead-letters) does.
          ...(deadLettered[i]! > 0 ? { deadLettered: deadLettered[i]! } : {}),
        }),
      );
    };
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  }

  return {
    name: 'influx',
    atomicWithState: false,
    countsRewrites: false,
    async commitBatch(batch, recordState) {
      return (await commitGroup([{ batch, recordState }]))[0]!;
    },
    commitGroup,

    async latest(filter) {
      const series = await catalog.list(filter);
      const byMetric = new Map<string, CatalogSeries[]>();
      for (const s of series) {
        const list = byMetric.get(s.metric) ?? [];
        list.push(s);
        byMetric.set(s.metric, list);
      }
      const metrics = [...byMetric.keys()];
      // A reading dated before the floor or past now + the allowed skew is never the latest.
      const range = latestRange(timeWindow, (deps.now ?? Date.now)());
      const statements = metrics.map((metric) => {
        const list = byMetric.get(metric)!;
        const f = fieldNames(metric);
        const measurements = [...new Set(list.flatMap((s) => s.measurements))];
        const devices = [...new Set(list.map((s) => s.device))];
        const conditions = [`time >= ${range.from}ms`, `time <= ${range.to}ms`];
        if (filter.device !== undefined || filter.station !== undefined)
          conditions.push(`(${devices.map((d) => `"device" = ${literal(d)}`).join(' OR ')})`);
        const where = `WHERE ${conditions.join(' AND ')}`;
        // A raw query skips rows whose selected fields are all null, so LIMIT 1 per device is
        // the newest point that has this metric (as a value or as an error).
        return `SELECT ${ident(f.value)}, ${ident(f.error)}, ${ident(f.quality)} FROM ${from(measurements)} ${where} GROUP BY "device" ORDER BY time DESC LIMIT 1`;
      });
      const results = await query(statements);
      const out: LatestValue[] = [];
      metrics.forEach((metric, i) => {
        const newest = new Map<string, unknown[]>();
        for (const s of results[i]!) {
          const device = s.tags?.device;
          const row = s.values[0];
          if (device === undefined || row === undefined) continue;
          const prev = newest.get(device);
          if (prev === undefined || (prev[0] as number) < (row[0] as number)) newest.set(device, row);
        }
        for (const s of byMetric.get(metric)!) {
          const row = newest.get(s.device);
          if (row === undefined) continue;
          const [ts, value, error, quality] = row as [
            number,
            number | string | null,
            string | null,
            Quality | null,
          ];
          out.push({
            device: s.device,
            metric,
            unit: s.unit,
            ts,
            value: value === null ? (error ?? '') : typed(value, s.valueType),
            // Absent means good: a bad reading always carries its `_q`.
            quality: quality ?? 'good',
            station: s.station,
          });
        }
      });
      return out.sort((a, b) =>
        a.device < b.device
          ? -1
          : a.device > b.device
            ? 1
            : a.metric < b.metric
              ? -1
              : a.metric > b.metric
                ? 1
                : 0,
      );
    },

    async series(q) {
      const s = await catalog.find(q.device, q.metric);
      if (s === undefined) return undefined;
      const names = fieldNames(q.metric);
      const f = ident(names.value);
      // A string series lives in the error field (older data: in the value field), so count both.
      const aggregates =
        s.valueType === 'string'
          ? `count(${f}), count(${ident(names.error)})`
          : `min(${f}), max(${f}), mean(${f}), count(${f})`;
      const offset = ((q.from % q.stepMs) + q.stepMs) % q.stepMs;
      const select = (what: string) =>
        query([
          `SELECT ${what} FROM ${from(s.measurements)} WHERE "device" = ${literal(q.device)} AND time >= ${q.from}ms AND time < ${q.to}ms GROUP BY time(${q.stepMs}ms, ${offset}ms) fill(none)`,
        ]);
      try {
        const [result] = await select(aggregates);
        return mergeBuckets(result!, s.valueType === 'string');
      } catch (err) {
        // The value field is a string in some shard (data written before fields had fixed types,
        // or by another program): InfluxDB refuses min/max/mean there, so the series only counts.
        if (!(err instanceof InfluxQueryError) || !/unsupported \w+ iterator type/.test(err.message))
          throw err;
        log.warn(
          { device: q.device, metric: q.metric, err: err.message },
          'series field holds strings: counted only',
        );
        const [result] = await select(`count(${f})`);
        return mergeBuckets(result!, true);
      }
    },

    async events(q: EventQuery): Promise<StoredEvent[]> {
      const where: string[] = [];
      if (q.device !== undefined) where.push(`"device" = ${literal(q.device)}`);
      if (q.type !== undefined) where.push(`"type" = ${literal(q.type)}`);
      if (q.from !== undefined) where.push(`time >= ${q.from}ms`);
      if (q.to !== undefined) where.push(`time < ${q.to}ms`);
      const [result] = await query([
        `SELECT "device", "type", "edge", "severity", "historical", "received_at", "data" FROM ${ident(config.eventsMeasurement)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC LIMIT ${q.limit}`,
      ]);
      const rows = result!.flatMap((s) => s.values);
      return rows.map((r) => {
        const [ts, device, type, edge, severity, historical, receivedAt, data] = r as [
          number,
          string,
          string,
          string,
          StoredEvent['severity'],
          boolean,
          number,
          string,
        ];
        return {
          edge,
          device,
          type,
          severity,
          ts,
          receivedAt,
          historical: historical === true,
          data: JSON.parse(data) as StoredEvent['data'],
        };
      });
    },

    setFlags(place, flags) {
      const run = async () => {
        // Each flagged series' measurements, asked first (flagLines is synchronous): with several
        // hosts another host may have written the readings, so the shared catalog has them.
        const key = (d: string, m: string) => `${d}\u0000${m}`;
        const pairs = new Map(flags.map((f) => [key(f.device, f.metric), f]));
        const measurements = new Map<string, readonly string[]>();
        await Promise.all(
          [...pairs].map(async ([k, f]) => {
            measurements.set(k, (await catalog.find(f.device, f.metric))?.measurements ?? []);
          }),
        );
        const lines = flagLines(place, flags, (d, m) => measurements.get(key(d, m)) ?? []);
        if (lines.length === 0) return;
        const { refused, error } = await writeDurably(lines);
        if (refused.length > 0) throw new InfluxWriteError(`InfluxDB refused data flags: ${error}`);
      };
      const result = queue.then(run, run);
      queue = result.catch(() => {});
      return result;
    },

    async readingTimes(device, metric, fromTs, toTs) {
      const s = await catalog.find(device, metric);
      if (s === undefined) return [];
      const [result] = await query([
        `SELECT ${ident(fieldNames(metric).value)} FROM ${from(s.measurements)} WHERE "device" = ${literal(device)} AND time >= ${fromTs}ms AND time < ${toTs}ms`,
      ]);
      return [...new Set(result!.flatMap((x) => x.values.map((r) => r[0] as number)))].sort((a, b) => a - b);
    },

    async close() {
      await queue;
      await writeApi
        .close()
        .catch((err: Error) => log.warn({ err: err.message }, 'InfluxDB write API closed with an error'));
    },
  };
}

function typed(v: number | string, type: CatalogSeries['valueType']): Value {
  if (type === 'boolean') return v === 1;
  if (type === 'string') return String(v);
  return typeof v === 'number' ? v : Number(v);
}

/** One bucket list from the per-measurement series of a GROUP BY time() query. */
function mergeBuckets(series: InfluxSeries[], countOnly: boolean): SeriesBucket[] {
  const byT = new Map<number, SeriesBucket>();
  for (const s of series) {
    for (const row of s.values) {
      const t = row[0] as number;
      const b: SeriesBucket = countOnly
        ? {
            t,
            min: null,
            max: null,
            mean: null,
            count: ((row[1] as number | null) ?? 0) + ((row[2] as number | null) ?? 0),
          }
        : {
            t,
            min: row[1] as number,
            max: row[2] as number,
            mean: row[3] as number,
            count: row[4] as number,
          };
      const prev = byT.get(t);
      if (prev === undefined) {
        byT.set(t, b);
        continue;
      }
      if (!countOnly) {
        prev.min = Math.min(prev.min!, b.min!);
        prev.max = Math.max(prev.max!, b.max!);
        prev.mean = (prev.mean! * prev.count + b.mean! * b.count) / (prev.count + b.count);
      }
      prev.count += b.count;
    }
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}
