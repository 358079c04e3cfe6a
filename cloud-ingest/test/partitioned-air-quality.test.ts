import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Reading, encodeBatch } from '@village/protocol';
import { type Influxd, type Postgres, startInfluxd, startPostgres, waitFor } from '@village/test-kit';
import { Hono } from 'hono';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config.js';
import { ApiError } from '../src/http/api-error.js';
import { parseRegistry } from '../src/registry-file.js';
import { type PartitionedRules, startPartitionedRules } from '../src/rules-runtime/partitioned-rules.js';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { influxSinkSchema } from '../src/sink/influx-config.js';
import { createInfluxSink } from '../src/sink/influx-sink.js';
import type { Sink, SinkBatch } from '../src/sink/sink.js';
import { countDeadLetters } from '../src/store/dead-letter-store.js';
import { type Db, openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { REGISTRY } from './cloud-fixture.js';

/**
 * Quality control and the published AQI with several hosts (issue 20): two hosts (each one
 * startPartitionedRules with its own cloud.db, as cloud.ts starts it with `store.kind: postgres`)
 * on one real PostgreSQL, each with its InfluxDB sink on one real influxd (as cloud.ts makes it
 * with `store.kind: postgres`: the shared series catalog). The ingest of the edge's batches is the
 * test's: each batch into InfluxDB, then into the journal (SharedStore.recordCommits), as a
 * host's ingest does. Both hosts run
 * on one clock the test moves, so an hour is complete (publishable) when the test says so, and
 * a lease lapses when the test moves the clock past it. A dead owner is one closed without
 * giving its lease up (neither renews nor polls nor publishes, as after SIGKILL).
 */
const H = 3_600_000;
const M = 60_000;
const H0 = Date.UTC(2026, 11, 1, 2); // a clock hour
const UG = 'µg/m³';
const PLACE = { county: 'c1', town: 't1', village: 'v1', station: 's1' };
const LEASE_MS = 3_000;

interface Host {
  rules: PartitionedRules;
  db: Db;
  sink: Sink;
  api(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }>;
}

describe('quality control and the published AQI across two hosts on PostgreSQL', { timeout: 60_000 }, () => {
  let pg: Postgres;
  let influxd: Influxd;
  let dir: string;
  let store: SharedStore;
  // Just before the hour's end: its last readings are not yet in the future (ingest.maxClockSkewMs).
  let clock = H0 + 58 * M;
  const stores: SharedStore[] = [];
  const hosts: Host[] = [];
  let seq = 0;

  beforeAll(async () => {
    [pg, influxd] = await Promise.all([startPostgres(), startInfluxd(['village'])]);
    dir = mkdtempSync(join(tmpdir(), 'pg-air-quality-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    store = await openPostgresSharedStore({ url: pg.url });
    stores.push(store);
  }, 60_000);
  afterAll(async () => {
    for (const h of hosts) await h.rules.close();
    for (const h of hosts) {
      await h.sink.close();
      h.db.close();
    }
    for (const s of stores) await s.close();
    await influxd?.dispose();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function host(name: string): Promise<Host> {
    const shared = await openPostgresSharedStore({ url: pg.url });
    stores.push(shared);
    const db = openDatabase(join(dir, `${name}.db`));
    const metrics = new Registry();
    const sink = createInfluxSink(
      influxSinkSchema.parse({ kind: 'influx', url: influxd.url, api: 'v1', database: 'village' }),
      {
        db,
        catalog: shared.seriesCatalog,
        registry: openRegistryStore(db, parseRegistry(REGISTRY), ['edge-1']),
        log: pino({ level: 'silent' }),
        metricsRegistry: metrics,
        deadLetters: countDeadLetters(shared.deadLetters, metrics),
      },
    );
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        rules: {
          thresholds: [{ id: 'pm25-high', metric: 'pm25', direction: 'above', level: 100, clearLevel: 80 }],
          aqi: { graceMs: 0, publishEveryMs: 100 },
        },
        notify: { mqtt: { enabled: false } },
      },
      dir,
    );
    const rules = startPartitionedRules({
      config,
      registryFile: parseRegistry(REGISTRY),
      db,
      store: shared,
      placeOf: () => PLACE,
      publish: async () => undefined,
      log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      registry: metrics,
      now: () => clock,
      name,
      options: { leaseMs: LEASE_MS, pollMs: 50, deadlineIntervalMs: 200 },
      sink,
    })!;
    // The routes as the API mounts them, with its error mapping, for the lab's full access.
    const app = new Hono();
    app.onError((err, c) =>
      err instanceof ApiError
        ? c.json({ error: { code: err.code, message: err.message } }, err.status)
        : c.json({ error: { code: 'internal', message: err.message } }, 500),
    );
    for (const r of rules.routes) app.route('/', r);
    const h: Host = {
      rules,
      db,
      sink,
      async api(path, init) {
        const res = await app.request(path, init);
        // A route that does not exist answers Hono's plain-text 404.
        const json = res.headers.get('content-type')?.includes('json');
        return { status: res.status, body: json ? ((await res.json()) as Record<string, unknown>) : {} };
      },
    };
    hosts.push(h);
    await rules.checkLeases();
    return h;
  }

  /** What a host's ingest does with a batch of the edge: into the sink, then into the journal. */
  async function ingest(h: Host, readings: Reading[]): Promise<number> {
    seq++;
    const receivedAt = clock;
    const batch: SinkBatch = {
      edgeId: 'edge-1',
      historical: false,
      receivedAt,
      place: PLACE,
      readings,
      events: [],
    };
    await h.sink.commitBatch(batch, () => {});
    await store.recordCommits([
      {
        edge: 'edge-1',
        epoch: 'ep-1',
        seq,
        receivedAt,
        partition: 'v1',
        batch: encodeBatch({
          edgeId: 'edge-1',
          seq,
          boot: 1,
          epoch: 'ep-1',
          createdAt: receivedAt,
          historical: false,
          readings,
          events: [],
        }),
      },
    ]);
    return receivedAt;
  }

  const post = (h: Host, path: string, body: unknown) =>
    h.api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** pm-1's PM2.5 every 5 minutes of the hour from `hour`, `value` (or valueAt(minute)). */
  const hourOf = (hour: number, valueAt: (minute: number) => number): Reading[] =>
    Array.from({ length: 12 }, (_, k) => ({
      device: 'pm-1',
      metric: 'pm25',
      value: valueAt(k * 5),
      unit: UG,
      ts: hour + k * 5 * M,
      quality: 'good' as const,
    }));

  /** The published hourly AQI of s1 in InfluxDB (the series of the device `aqi:s1`), by hour. */
  const influxAqi = async () => {
    const [r] = await influxd.query(`SELECT "aqi_1h" FROM /.*/ WHERE "device" = 'aqi:s1'`, 'village');
    return new Map((r?.series ?? []).flatMap((s) => s.values as [number, number][]));
  };
  /** pm-1's pm25 flags in InfluxDB (a field beside the reading: docs/rules.md), by time. */
  const influxFlags = async () => {
    const [r] = await influxd.query(`SELECT "pm25_flag" FROM /.*/ WHERE "device" = 'pm-1'`, 'village');
    return new Map((r?.series ?? []).flatMap((s) => s.values as [number, string][]));
  };

  it("an officer's window through host B gates host A's rules and flags the readings; B serves A's hour, takes the village over and publishes the next hour from A's samples", async () => {
    const a = await host('host-a');
    const b = await host('host-b');
    expect(a.rules.held()).toEqual(['v1']);
    expect(b.rules.held()).toEqual([]);

    // The officer, on host B: pm-1's first ten minutes of the hour were a maintenance visit.
    const set = await post(b, '/api/v1/quality/windows', {
      kind: 'maintenance',
      station: 's1',
      metrics: ['pm25'],
      from: H0,
      to: H0 + 10 * M,
      reason: 'filter change',
    });
    expect(set.status).toBe(201);

    // The hour's readings reach host A's village: 500 µg/m³ while the sensor was open (above
    // the alert's 100), 40 after.
    await ingest(
      a,
      hourOf(H0, (minute) => (minute < 10 ? 500 : 40)),
    );
    const flags = await waitFor('the window readings flagged M, seen on host B', async () => {
      const { body } = await b.api('/api/v1/quality/flags?station=s1');
      const list = body.flags as { ts: number; flag: string }[];
      return list.length === 2 ? list : undefined;
    });
    expect(flags.map((f) => [f.ts - H0, f.flag])).toEqual([
      [5 * M, 'M'],
      [0, 'M'],
    ]);
    // In InfluxDB, beside the readings: the window's two, no other (absent is N).
    await waitFor('the M flags in InfluxDB', async () => (await influxFlags()).size === 2);
    expect([...(await influxFlags())]).toEqual([
      [H0, 'M'],
      [H0 + 5 * M, 'M'],
    ]);

    // The hour complete: published (by whichever host) and served by host B, the window's
    // readings left out of its mean and counted as flagged.
    clock = H0 + H + M;
    const row = await waitFor('hour H0 on host B', async () => {
      const { body } = await b.api(`/api/v1/aqi/hourly?station=s1&from=${H0}&to=${H0 + 1}`);
      return (body.aqi as Record<string, unknown>[])[0];
    });
    expect(row).toMatchObject({ station: 's1', start: H0, flagged: 2 });
    expect((row.means as Record<string, Record<string, unknown>>)['PM2.5']!['1h']).toMatchObject({
      n: 10,
      value: 40,
    });
    await waitFor('the hour in InfluxDB', async () => (await influxAqi()).get(H0) === row.aqi);
    expect(row.aqi).not.toBeNull();
    // An officer on host B invalidates the next ten minutes: the stored readings' flags follow
    // (shared store and sink), and the hour is published again without them.
    const inv = await post(b, '/api/v1/quality/invalidate', {
      station: 's1',
      metric: 'pm25',
      from: H0 + 10 * M,
      to: H0 + 20 * M,
      reason: 'knocked',
    });
    expect(inv.status).toBe(200);
    expect((inv.body.change as { readings: number }).readings).toBe(2);
    await waitFor(
      'the invalidated readings flagged I in InfluxDB',
      async () => (await influxFlags()).get(H0 + 15 * M) === 'I',
    );
    expect((await influxFlags()).get(H0 + 10 * M)).toBe('I');
    await waitFor('hour H0 published again with 4 flagged', async () => {
      const { body } = await a.api(`/api/v1/aqi/hourly?station=s1&from=${H0}&to=${H0 + 1}`);
      return (body.aqi as { flagged: number }[])[0]?.flagged === 4;
    });
    const latest = await a.api('/api/v1/aqi/latest');
    expect((latest.body.aqi as { start: number }[]).map((r) => r.start)).toEqual([H0]);

    // The next hour on host A, one good high value in it: A's rules alert on that one, and
    // never raised anything on the window's 500s.
    clock = H0 + H + 58 * M;
    const highAt = await ingest(
      a,
      hourOf(H0 + H, (minute) => (minute === 30 ? 150 : 50)),
    );
    const alerts = await waitFor('the alert of the good high value, seen on host B', async () => {
      const { body } = await b.api('/api/v1/alerts');
      // Only pm-1's (the clock jumps hours here: the wristband's silence alerts too).
      const list = (body.alerts as { device: string | null; raisedAt: number }[]).filter(
        (x) => x.device === 'pm-1',
      );
      return list.length > 0 ? list : undefined;
    });
    expect(alerts.map((x) => [x.device, x.raisedAt])).toEqual([['pm-1', highAt]]);
    await waitFor(
      "the next hour's samples recorded by A",
      async () => (await store.aqi.sampleCounts('s1', H0 + H, H0 + 2 * H)).total === 12,
    );

    // Host A dies holding the village; the hour ends and A's lease lapses: B takes the village
    // over and publishes the hour from the samples A recorded.
    await a.rules.close({ release: false });
    clock = H0 + 2 * H + LEASE_MS + M;
    await waitFor('host B holds the village', () => b.rules.held().includes('v1'));
    const next = await waitFor('hour H0+1 on host B', async () => {
      const { body } = await b.api(`/api/v1/aqi/hourly?station=s1&from=${H0 + H}&to=${H0 + H + 1}`);
      return (body.aqi as Record<string, unknown>[])[0];
    });
    expect(next).toMatchObject({ station: 's1', start: H0 + H, flagged: 0 });
    await waitFor(
      'the next hour in InfluxDB, written by B',
      async () => (await influxAqi()).get(H0 + H) === next.aqi,
    );
    expect((next.means as Record<string, Record<string, unknown>>)['PM2.5']!['1h']).toMatchObject({ n: 12 });
    // Hour H0 is published once, still with its four flagged readings.
    const { body } = await b.api(`/api/v1/aqi/hourly?station=s1&from=${H0}&to=${H0 + 2 * H}`);
    expect((body.aqi as { start: number; flagged: number }[]).map((r) => [r.start - H0, r.flagged])).toEqual([
      [H, 0],
      [0, 4],
    ]);
    // The month's report on host B, from the shared tables: 24 pollutant readings, 4 flagged
    // (2 M, 2 I), two hours with their rows.
    const report = await b.api('/api/v1/reports/monthly?station=s1&month=2026-12');
    expect(report.status).toBe(200);
    expect(report.body.report).toMatchObject({
      airReadings: 24,
      airReadingsFlagged: 4,
      flaggedByFlag: { M: 2, I: 2 },
    });
  });
});
