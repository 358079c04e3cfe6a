import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@village/protocol';
import { type Influxd, startInfluxd, waitFor } from '@village/test-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { influxSinkSchema } from '../src/sink/influx-config.js';
import { batchToLines } from '../src/sink/influx-line-protocol.js';
import { openSeriesCatalog } from '../src/sink/influx-series-catalog.js';
import { InfluxWriteError, createInfluxSink } from '../src/sink/influx-sink.js';
import { InfluxPathError, v2WritePathToV1 } from '../src/sink/influx-v1-transport.js';
import type { SinkBatch } from '../src/sink/sink.js';
import { openDeadLetterStore } from '../src/store/dead-letter-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { runSinkSuite } from './sink-suite.js';

const T = Date.UTC(2026, 2, 1, 8);
const place = { county: 'c1', town: 't 1', village: 'v,1', station: null };
const reading = (
  metric: string,
  value: Reading['value'],
  ts: number,
  quality: Reading['quality'] = 'good',
): Reading => ({
  device: 'pm-1',
  metric,
  value,
  unit: '',
  ts,
  quality,
});
const batch = (readings: Reading[]): SinkBatch => ({
  edgeId: 'edge-1',
  historical: false,
  receivedAt: T,
  place,
  readings,
  events: [],
});

describe('InfluxDB line protocol and v1 write path (pure)', () => {
  it('one line per (device, ts); bad strings to <metric>_error; quality only when not good; tags escaped, null tags left out', () => {
    const lines = batchToLines(
      batch([
        reading('pm25', 12, T),
        reading('temp', 'IllegalDataAddress', T, 'bad'),
        reading('open', true, T),
        reading('pm25', 13.5, T + 1, 'suspect'),
      ]),
      () => 'air quality',
      'events',
    );
    expect(lines).toEqual([
      'air\\ quality,county=c1,town=t\\ 1,village=v\\,1,device=pm-1 pm25=12,temp_error="IllegalDataAddress",temp_q="bad",open=1 1772352000000',
      'air\\ quality,county=c1,town=t\\ 1,village=v\\,1,device=pm-1 pm25=13.5,pm25_q="suspect" 1772352000001',
    ]);
  });

  it('every string goes to <metric>_error, whatever its quality: <metric> stays a float in every measurement', () => {
    const lines = batchToLines(
      batch([reading('pm2_5', 'n/a', T), reading('door', 'open', T + 1, 'suspect')]),
      () => 'air',
      'events',
    );
    expect(lines).toEqual([
      'air,county=c1,town=t\\ 1,village=v\\,1,device=pm-1 pm2_5_error="n/a" 1772352000000',
      'air,county=c1,town=t\\ 1,village=v\\,1,device=pm-1 door_error="open",door_q="suspect" 1772352000001',
    ]);
  });

  it('rewrites the client v2 write path to 1.x /write, mapping precisions', () => {
    expect(v2WritePathToV1('/api/v2/write?org=&bucket=village%2Fweek&precision=ms')).toBe(
      '/write?db=village&rp=week&precision=ms',
    );
    expect(v2WritePathToV1('/api/v2/write?org=o&bucket=village&precision=ns')).toBe(
      '/write?db=village&precision=n',
    );
    expect(v2WritePathToV1('/api/v2/write?org=o&bucket=village&precision=us')).toBe(
      '/write?db=village&precision=u',
    );
    expect(v2WritePathToV1('/query?db=x')).toBe('/query?db=x');
    expect(() => v2WritePathToV1('/api/v2/write?org=o&precision=ms')).toThrow(InfluxPathError);
    expect(() => v2WritePathToV1('/api/v2/write?bucket=b&precision=fortnight')).toThrow(
      /unknown write precision/,
    );
  });
});

describe('InfluxDB sink against a real influxd 1.6.7', () => {
  let influxd: Influxd;
  let dir: string;
  beforeAll(async () => {
    influxd = await startInfluxd([]);
    dir = mkdtempSync(join(tmpdir(), 'influx-sink-'));
  }, 60_000);
  afterAll(async () => {
    await influxd?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  const makeSink = async (extra: Record<string, unknown> = {}) => {
    const database = `sink_${++n}`;
    await influxd.query(`CREATE DATABASE ${database}`);
    const db = openDatabase(join(dir, database));
    const metricsRegistry = new Registry();
    const sink = createInfluxSink(
      influxSinkSchema.parse({ kind: 'influx', url: influxd.url, api: 'v1', database, ...extra }),
      {
        db,
        catalog: openSeriesCatalog(db),
        registry: openRegistryStore(db, EMPTY_REGISTRY, []),
        log: pino({ level: 'silent' }),
        metricsRegistry,
        deadLetters: openDeadLetterStore(db, metricsRegistry),
      },
    );
    const close = async () => {
      await sink.close();
      db.close();
    };
    return { sink, database, metricsRegistry, db, close };
  };

  /** influxd's own count of /write requests it served (its /debug/vars, the `httpd` statistics). */
  const writeRequests = async () => {
    const vars = (await (await fetch(`${influxd.url}/debug/vars`)).json()) as Record<
      string,
      { name?: string; values?: { writeReq?: number } }
    >;
    return Object.values(vars)
      .filter((v) => v.name === 'httpd')
      .reduce((sum, v) => sum + (v.values?.writeReq ?? 0), 0);
  };

  it("commits a group of 40 edges' batches in one write request and one state transaction; a refused point is dead-lettered, the rest stored", async () => {
    const { sink, database, db, close } = await makeSink();
    // Another writer made pm25 a string in this shard: edge-7's numeric pm25 is refused there for good.
    const raw = await fetch(`${influxd.url}/write?db=${database}&precision=ms`, {
      method: 'POST',
      body: `unknown,device=old pm25="text" ${T}`,
    });
    expect(raw.status).toBe(204);
    const group = Array.from({ length: 40 }, (_, i) => ({
      batch: {
        ...batch([reading('temp', i, T + i), ...(i === 7 ? [reading('pm25', 3, T + i)] : [])]),
        edgeId: `edge-${i}`,
      },
      recordState: () => {
        recorded.push(`edge-${i} in transaction ${db.inTransaction}`);
      },
    }));
    const recorded: string[] = [];
    const before = await writeRequests();
    const results = await sink.commitGroup!(group);
    // One request for the group; then halves of it again until edge-7's line is refused alone:
    // two requests a level, six levels for 40 lines (one a line would be 40 more).
    expect((await writeRequests()) - before).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(40)));
    expect(recorded).toEqual(group.map((_, i) => `edge-${i} in transaction true`));
    expect(results.map((r) => r.deadLettered)).toEqual(group.map((_, i) => (i === 7 ? 1 : undefined)));
    const [count] = await influxd.query('SELECT count("temp") FROM "unknown"', database);
    expect(count!.series![0]!.values[0]![1]).toBe(39);
    await close();
  }, 30_000);
  // sink.ts: every sink passes the one contract suite, this one against the real server.
  runSinkSuite('influx', async () => {
    const { sink, close } = await makeSink();
    return { sink, dispose: close };
  });

  it('keeps a numeric field numeric when bad readings carry the exception name', async () => {
    const { sink, database, close } = await makeSink();
    await sink.commitBatch(
      batch([
        reading('temp', 20, T),
        reading('temp', 'SlaveDeviceBusy', T + 1, 'bad'),
        reading('temp', 22, T + 2),
      ]),
      () => {},
    );
    const [keys] = await influxd.query('SHOW FIELD KEYS FROM "unknown"', database);
    expect(Object.fromEntries(keys!.series![0]!.values as [string, string][])).toEqual({
      temp: 'float',
      temp_error: 'string',
      temp_q: 'string',
    });
    expect(await sink.series({ device: 'pm-1', metric: 'temp', from: T, to: T + 3, stepMs: 3 })).toEqual([
      { t: T, min: 20, max: 22, mean: 21, count: 2 },
    ]);
    await close();
  }, 30_000);

  it("writes a reading's data flag into the reading's own point (a field, not a second point) and lists reading times", async () => {
    const { sink, database, close } = await makeSink();
    await sink.commitBatch(batch([reading('pm25', 12, T), reading('pm25', 900, T + 60_000)]), () => {});
    expect(await sink.readingTimes!('pm-1', 'pm25', T, T + 120_000)).toEqual([T, T + 60_000]);
    await sink.setFlags!(place, [{ device: 'pm-1', metric: 'pm25', ts: T + 60_000, flag: 'Q' }]);
    const [rows] = await influxd.query('SELECT "pm25", "pm25_flag" FROM "unknown"', database);
    expect(rows!.series![0]!.values).toEqual([
      [T, 12, null],
      [T + 60_000, 900, 'Q'],
    ]);
    // A restore writes N over it: still one point per reading.
    await sink.setFlags!(place, [{ device: 'pm-1', metric: 'pm25', ts: T + 60_000, flag: 'N' }]);
    const [again] = await influxd.query('SELECT count("pm25"), last("pm25_flag") FROM "unknown"', database);
    expect(again!.series![0]!.values[0]!.slice(1)).toEqual([2, 'N']);
    await close();
  }, 30_000);

  it('calls recordState only after InfluxDB accepted the points: stopped mid-commit, it waits and then commits', async () => {
    const { sink, database, metricsRegistry, close } = await makeSink({
      minRetryDelayMs: 200,
      maxRetryDelayMs: 1_000,
    });
    await influxd.stop();
    let recorded = 0;
    const commit = sink.commitBatch(batch([reading('pm25', 1, T), reading('pm25', 2, T + 1)]), () => {
      recorded++;
    });
    let settled = false;
    void commit.finally(() => {
      settled = true;
    });
    // The client has failed at least twice (first write and a retry); nothing may be recorded meanwhile.
    const failures = async () =>
      (await metricsRegistry.getSingleMetric('cloud_influx_write_failures_total')!.get()).values.reduce(
        (a, v) => a + v.value,
        0,
      );
    await waitFor('two failed write attempts', async () => (await failures()) >= 2);
    expect([settled, recorded]).toEqual([false, 0]);
    await influxd.start();
    await commit;
    expect(recorded).toBe(1);
    const [count] = await influxd.query('SELECT count("pm25") FROM "unknown"', database);
    expect(count!.series![0]!.values[0]![1]).toBe(2);
    await close();
  }, 60_000);

  it('rejects with InfluxWriteError and never records the state when InfluxDB stays away past maxRetryTimeMs', async () => {
    const { sink, close } = await makeSink({
      minRetryDelayMs: 100,
      maxRetryDelayMs: 200,
      maxRetryTimeMs: 1_000,
    });
    await influxd.stop();
    let recorded = 0;
    try {
      await expect(
        sink.commitBatch(batch([reading('pm25', 1, T)]), () => {
          recorded++;
        }),
      ).rejects.toBeInstanceOf(InfluxWriteError);
      expect(recorded).toBe(0);
    } finally {
      await influxd.start();
      await close();
    }
  }, 60_000);
});
