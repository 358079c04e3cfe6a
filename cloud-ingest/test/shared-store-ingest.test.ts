import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, LEGACY_EPOCH, encodeBatch, topics } from '@village/protocol';
import {
  type Influxd,
  type Postgres,
  influxReadings,
  startInfluxd,
  startMosquitto,
  startPostgres,
} from '@village/test-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { createBatchIngest } from '../src/ingest/batch-ingest.js';
import { createCloudMetrics } from '../src/metrics.js';
import { parseRegistry } from '../src/registry-file.js';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { influxSinkSchema } from '../src/sink/influx-config.js';
import { createInfluxSink } from '../src/sink/influx-sink.js';
import { openDeadLetterStore } from '../src/store/dead-letter-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { REGISTRY, T0, commitGroups, makeBatch } from './cloud-fixture.js';

/**
 * The ingest with `store.kind: postgres` in process (no broker): each "host" its own cloud.db and
 * InfluxDB sink, all sharing one real PostgreSQL SharedStore, writing to one real influxd.
 */
describe('batch ingest through the PostgreSQL SharedStore, InfluxDB sink', { timeout: 120_000 }, () => {
  let pg: Postgres;
  let influxd: Influxd;
  let store: SharedStore;
  const dirs: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    pg = await startPostgres();
    influxd = await startInfluxd(['village']);
    store = await openPostgresSharedStore({ url: pg.url });
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await store?.close();
    await influxd?.dispose();
    await pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function host(name: string) {
    const dir = mkdtempSync(join(tmpdir(), `shared-ingest-${name}-`));
    dirs.push(dir);
    const db = openDatabase(dir);
    const metrics = createCloudMetrics();
    const registry = openRegistryStore(db, parseRegistry(REGISTRY), ['edge-1']);
    const deadLetters = openDeadLetterStore(db, metrics.registry);
    const sink = createInfluxSink(
      influxSinkSchema.parse({
        kind: 'influx',
        url: influxd.url,
        api: 'v1',
        database: 'village',
        maxRetries: 1,
        maxRetryTimeMs: 1_000,
        minRetryDelayMs: 100,
        timeoutMs: 1_000,
      }),
      {
        db,
        // As cloud.ts picks it with store.kind postgres: the SharedStore's, not this host's cloud.db.
        catalog: store.seriesCatalog,
        registry,
        log: pino({ level: 'silent' }),
        metricsRegistry: metrics.registry,
        deadLetters,
      },
    );
    closers.push(async () => {
      await sink.close();
      db.close();
    });
    const acks: Ack[] = [];
    const ingest = createBatchIngest({
      db,
      sink,
      sharedStore: store,
      registry,
      metrics,
      log: pino({ level: 'silent' }),
      deadLetters,
      async publishAck(_edge, ack) {
        acks.push(ack);
      },
      now: () => Date.now(),
    });
    return { ingest, acks, metrics, sink };
  }

  const journal = async () => store.readJournal('v1', 0, 1_000);
  const payloadOf = (seq: number) => encodeBatch(makeBatch('edge-1', seq, 5, {}, T0 + seq * 60_000));

  it('records the seq and its journal row only after InfluxDB accepted the points', async () => {
    const a = host('a');
    await influxd.stop();
    try {
      // InfluxDB away past maxRetryTimeMs: the commit fails, nothing is recorded, nothing acked.
      expect(await a.ingest.ingest(topics.batch('edge-1'), payloadOf(1))).toBe('failed');
    } finally {
      await influxd.start();
    }
    expect(await store.isCommitted('edge-1', LEGACY_EPOCH, 1)).toBe(false);
    expect(await journal()).toEqual([]);
    expect(a.acks).toEqual([]);
    // The edge's resend, with InfluxDB back: written, then recorded with its journal row, then acked.
    const bytes = payloadOf(1);
    expect(await a.ingest.ingest(topics.batch('edge-1'), bytes)).toBe('committed');
    expect(await store.isCommitted('edge-1', LEGACY_EPOCH, 1)).toBe(true);
    const rows = await journal();
    expect(rows.map((r) => [r.partition, r.position, r.edge, r.seq])).toEqual([['v1', 1, 'edge-1', 1]]);
    expect(Buffer.from(rows[0]!.batch).equals(Buffer.from(bytes))).toBe(true);
    expect(a.acks.map((k) => k.acked)).toEqual([[1]]);
    expect((await influxReadings(influxd, 'village')).count).toBe(5);
  });

  it('two hosts: a batch both got is stored and journaled once, and both ack it', async () => {
    const a = host('a2');
    const b = host('b2');
    // One after the other: the second host finds it committed and does not write it.
    expect(await a.ingest.ingest(topics.batch('edge-1'), payloadOf(2))).toBe('committed');
    expect(await b.ingest.ingest(topics.batch('edge-1'), payloadOf(2))).toBe('duplicate');
    // At once: both may write the same points (same keys), exactly one records it new.
    const both = await Promise.all([
      a.ingest.ingest(topics.batch('edge-1'), payloadOf(3)),
      b.ingest.ingest(topics.batch('edge-1'), payloadOf(3)),
    ]);
    expect(both.sort()).toEqual(['committed', 'duplicate']);
    const rows = await journal();
    expect(rows.map((r) => [r.position, r.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect([...a.acks, ...b.acks].flatMap((k) => k.acked).sort()).toEqual([2, 2, 3, 3]);
    expect(await store.snapshot('edge-1', LEGACY_EPOCH)).toEqual({ highWater: 3, above: [] });
    expect((await influxReadings(influxd, 'village')).count).toBe(15);
  });

  it('a group: the new batches written together and recorded in one transaction; repeats and committed ones are duplicates', async () => {
    const a = host('a4');
    const T = T0 + 10 * 86_400_000;
    const bytesOf = (seq: number) => encodeBatch(makeBatch('edge-1', seq, 4, {}, T + seq * 60_000));
    const prepared = [10, 11, 10, 2, 12].map((seq) => {
      const p = a.ingest.prepare(topics.batch('edge-1'), bytesOf(seq));
      if (p instanceof Promise) throw new Error(`seq ${seq} did not prepare`);
      return p;
    });
    const before = (await store.readJournal('v1', 0, 1_000)).length;
    const storedBefore = (await influxReadings(influxd, 'village')).count;
    const outcomes = await Promise.all(await a.ingest.commitGroup(prepared));
    expect(outcomes).toEqual(['committed', 'committed', 'duplicate', 'duplicate', 'committed']);
    const rows = (await store.readJournal('v1', 0, 1_000)).slice(before);
    expect(rows.map((r) => r.seq)).toEqual([10, 11, 12]);
    // One group of three new batches (the code before committed them one at a time and did not count groups).
    const { transactions, batches } = await commitGroups(a.metrics.commitGroupBatches);
    expect([transactions, batches]).toEqual([1, 3]);
    expect(a.acks.map((k) => k.acked[0]).sort((x, y) => x! - y!)).toEqual([2, 10, 10, 11, 12]);
    expect((await influxReadings(influxd, 'village')).count - storedBefore).toBe(12);
  });

  it('a new outbox epoch seen by another host carries one epoch_changed event, and its seq 1 is new', async () => {
    const a = host('a3');
    const b = host('b3');
    const epochBatch = (epoch: string, seq: number) =>
      encodeBatch(makeBatch('edge-1', seq, 2, { epoch }, T0 + 86_400_000 + seq * 60_000));
    expect(await a.ingest.ingest(topics.batch('edge-1'), epochBatch('outbox-1', 1))).toBe('committed');
    expect(await b.ingest.ingest(topics.batch('edge-1'), epochBatch('outbox-1', 2))).toBe('committed');
    // The outbox was wiped: a new epoch starts at seq 1 again, and host b takes it.
    expect(await b.ingest.ingest(topics.batch('edge-1'), epochBatch('outbox-2', 1))).toBe('committed');
    expect(await a.ingest.ingest(topics.batch('edge-1'), epochBatch('outbox-2', 2))).toBe('committed');
    const [r] = await influxd.query(`SELECT * FROM events WHERE "type" = 'epoch_changed'`, 'village');
    const s = r?.series?.[0];
    const data = (s?.values ?? []).map((v) => JSON.parse(v[s!.columns.indexOf('data')] as string));
    // The earlier tests' batches were of the legacy epoch (none sent), H = 3: outbox-1 is a change too.
    expect(data).toEqual([
      { oldEpoch: LEGACY_EPOCH, newEpoch: 'outbox-1', oldHighWater: 3, seq: 1 },
      { oldEpoch: 'outbox-1', newEpoch: 'outbox-2', oldHighWater: 2, seq: 1 },
    ]);
  });

  it("two hosts: host B's history lists and answers the series only host A wrote", async () => {
    const a = host('a6');
    const b = host('b6');
    const T = T0 + 30 * 86_400_000;
    const readings = [0, 1, 2].flatMap((i) => [
      {
        device: 'pm-1',
        metric: 'pm10',
        value: 40 + i,
        unit: 'µg/m³',
        ts: T + i * 1000,
        quality: 'good' as const,
      },
      {
        device: 'pm-1',
        metric: 'fan_on',
        value: i === 2,
        unit: '',
        ts: T + i * 1000,
        quality: 'good' as const,
      },
    ]);
    const bytes = encodeBatch(makeBatch('edge-1', 30, 0, { readings }, T));
    expect(await a.ingest.ingest(topics.batch('edge-1'), bytes)).toBe('committed');

    // Host B wrote none of it; it answers from InfluxDB through the shared catalog.
    const buckets = await b.sink.series({
      device: 'pm-1',
      metric: 'pm10',
      from: T,
      to: T + 60_000,
      stepMs: 60_000,
    });
    expect(buckets).toEqual([{ t: T, min: 40, max: 42, mean: 41, count: 3 }]);
    const latest = (await b.sink.latest({ device: 'pm-1' })).filter((l) => l.metric !== 'pm25');
    expect(latest.map((l) => [l.metric, l.value, l.unit, l.ts, l.station])).toEqual([
      ['fan_on', true, '', T + 2000, 's1'], // typed back as a boolean: the catalog says so
      ['pm10', 42, 'µg/m³', T + 2000, 's1'],
    ]);
    expect(await b.sink.readingTimes!('pm-1', 'pm10', T, T + 60_000)).toEqual([T, T + 1000, T + 2000]);
    // A data flag set through host B (its partition's rules run there) lands beside A's reading.
    await b.sink.setFlags!({ county: 'c1', town: 't1', village: 'v1', station: 's1' }, [
      { device: 'pm-1', metric: 'pm10', ts: T + 1000, flag: 'D' },
    ]);
    const [flags] = await influxd.query(`SELECT "pm10_flag" FROM /.*/ WHERE "device" = 'pm-1'`, 'village');
    expect(flags?.series?.flatMap((s) => s.values)).toEqual([[T + 1000, 'D']]);
  });

  it('a village-cloud host on the shared store answers /api/v1/series and /latest for what another host wrote', async () => {
    const a = host('a7');
    const T = T0 + 40 * 86_400_000;
    const readings = [0, 1].map((i) => ({
      device: 'pm-1',
      metric: 'no2',
      value: 20 + i,
      unit: 'µg/m³',
      ts: T + i * 1000,
      quality: 'good' as const,
    }));
    expect(
      await a.ingest.ingest(topics.batch('edge-1'), encodeBatch(makeBatch('edge-1', 40, 0, { readings }, T))),
    ).toBe('committed');
    // A real host (cloud.ts), started after the batch was written: it wrote nothing itself.
    const broker = await startMosquitto({ ingest: 'pw-ingest' });
    const dir = mkdtempSync(join(tmpdir(), 'shared-ingest-cloud-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    process.env.TEST_SHARED_INGEST_PASSWORD = 'pw-ingest';
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: {
          mode: 'external',
          url: broker.ingestUrl,
          username: 'ingest',
          password: '${TEST_SHARED_INGEST_PASSWORD}',
          clientId: 'host-c',
        },
        sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' },
        store: { kind: 'postgres', url: pg.url },
        rules: { enabled: false },
        http: { port: 0 },
        log: { level: 'silent' },
      },
      dir,
    );
    const cloud = await startCloud(config, pino({ level: 'silent' }));
    try {
      const get = async (path: string) => {
        const r = await fetch(`http://127.0.0.1:${cloud.httpPort}${path}`);
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      const series = await get(`/api/v1/series?device=pm-1&metric=no2&from=${T}&to=${T + 60_000}&step=1m`);
      expect(series.status).toBe(200);
      expect(series.body.buckets).toEqual([{ t: T, min: 20, max: 21, mean: 20.5, count: 2 }]);
      const latest = await get('/api/v1/latest?device=pm-1');
      expect(
        (latest.body.latest as { metric: string; value: number }[]).find((l) => l.metric === 'no2'),
      ).toMatchObject({
        value: 21,
        ts: T + 1000,
        unit: 'µg/m³',
      });
    } finally {
      await cloud.close();
      await broker.dispose();
    }
  });
});
