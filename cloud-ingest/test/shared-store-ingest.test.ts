import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Ack,
  type Batch,
  LEGACY_EPOCH,
  type Status,
  encodeBatch,
  encodeJson,
  topics,
} from '@village/protocol';
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
import { createApi } from '../src/http/api-routes.js';
import { createDeadLetterRoutes } from '../src/http/dead-letter-routes.js';
import { createBatchIngest } from '../src/ingest/batch-ingest.js';
import { createDeadLetterRedrive } from '../src/ingest/dead-letter-redrive.js';
import { openSharedDeviceOwners } from '../src/ingest/shared-device-owners.js';
import { createStatusIngest } from '../src/ingest/status-ingest.js';
import { createCloudMetrics } from '../src/metrics.js';
import { parseRegistry } from '../src/registry-file.js';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { influxSinkSchema } from '../src/sink/influx-config.js';
import { createInfluxSink } from '../src/sink/influx-sink.js';
import { countDeadLetters } from '../src/store/dead-letter-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { exportRegistry } from '../src/store/registry-import.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { REGISTRY, T0, commitGroups, counterValue, makeBatch } from './cloud-fixture.js';

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

  /**
   * A real village-cloud host (cloud.ts, so its own choice of stores) on this PostgreSQL and
   * influxd, consuming a Mosquitto of its own, with a folder of its own.
   */
  async function realHost(clientId: string) {
    const broker = await startMosquitto({ ingest: 'pw-ingest' });
    const dir = mkdtempSync(join(tmpdir(), `shared-ingest-${clientId}-`));
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
          clientId,
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
    return {
      cloud,
      async stop() {
        await cloud.close();
        await broker.dispose();
      },
    };
  }

  async function host(name: string, shared: SharedStore = store) {
    const dir = mkdtempSync(join(tmpdir(), `shared-ingest-${name}-`));
    dirs.push(dir);
    const db = openDatabase(dir);
    const metrics = createCloudMetrics();
    const registry = openRegistryStore(db, parseRegistry(REGISTRY), ['edge-1', 'edge-2']);
    // As a host's start (store/registry-replica.ts): the first writes the registry document, and
    // with it the owners it names; then this host reads the owners.
    await shared.registry.update((latest) =>
      latest === undefined ? { doc: exportRegistry(db), fileSha256: null } : undefined,
    );
    const sharedOwners = await openSharedDeviceOwners(shared.deviceOwners, exportRegistry(db).devices);
    // As cloud.ts picks them with store.kind postgres: the SharedStore's, not this host's cloud.db.
    const deadLetters = countDeadLetters(shared.deadLetters, metrics.registry);
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
        catalog: shared.seriesCatalog,
        registry,
        log: pino({ level: 'silent' }),
        metricsRegistry: metrics.registry,
        deadLetters,
      },
    );
    closers.push(async () => {
      await sink.close();
      registry.flushLastSeen(); // as cloud.ts closes: no last-seen timer left to fire on a closed db
      db.close();
    });
    const acks: Ack[] = [];
    const ingest = createBatchIngest({
      db,
      sink,
      sharedStore: shared,
      sharedOwners,
      registry,
      metrics,
      log: pino({ level: 'silent' }),
      deadLetters,
      async publishAck(_edge, ack) {
        acks.push(ack);
      },
      now: () => Date.now(),
    });
    const status = createStatusIngest({
      registry,
      sharedOwners,
      metrics,
      log: pino({ level: 'silent' }),
      now: Date.now,
    });
    // This host's API for its dead letters, as cloud.ts mounts it. Re-drives are not queued
    // behind each other here (cloud.ts runs them in the ingest's turn): several at once on this
    // host race like re-drives on several hosts.
    const redrive = createDeadLetterRedrive({
      deadLetters,
      ingestBatch: ingest.ingest,
      sink,
      serially: (work, done) => void work().finally(done),
      log: pino({ level: 'silent' }),
      now: Date.now,
    });
    const api = createApi({
      sink,
      registry,
      metrics,
      log: pino({ level: 'silent' }),
      startedAt: Date.now(),
      now: Date.now,
      routes: [createDeadLetterRoutes({ deadLetters, redrive })],
    });
    return { ingest, acks, metrics, registry, status, sink, api };
  }

  const journal = async () => store.readJournal('v1', 0, 1_000);
  const payloadOf = (seq: number) => encodeBatch(makeBatch('edge-1', seq, 5, {}, T0 + seq * 60_000));

  it('records the seq and its journal row only after InfluxDB accepted the points', async () => {
    const a = await host('a');
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
    const a = await host('a2');
    const b = await host('b2');
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
    const a = await host('a4');
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
    const a = await host('a3');
    const b = await host('b3');
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

  // Issue 13 finding 2 across hosts: each batch reaches one host (shared subscription), so the
  // owner must be the one every host sees, not the one each host's cloud.db noted.
  const T_OWN = T0 + 20 * 86_400_000;
  const pointsOf = (edgeId: string, seq: number, devices: Record<string, number>): Uint8Array => {
    const readings: Batch['readings'] = Object.entries(devices).flatMap(([device, value]) =>
      [0, 1, 2].map((i) => ({
        device,
        metric: 'pm25',
        value: value + i,
        unit: 'µg/m³',
        ts: T_OWN + seq * 60_000 + i * 1000,
        quality: 'good' as const,
      })),
    );
    return encodeBatch({ ...makeBatch(edgeId, seq, 0, {}, T_OWN), readings });
  };
  /** device → its stored values, from InfluxDB. */
  const stored = async (device: string) =>
    [...(await influxReadings(influxd, 'village')).points]
      .filter(([k]) => k.startsWith(`${device}|pm25|`))
      .map(([, v]) => v)
      .sort();

  it('a device first sent by edge-1 through host A is refused to edge-2 through host B, and the other way round', async () => {
    const a = await host('own-a');
    // Host B's real store, its claims counted: one round trip per group, none for devices it knows.
    const claimsOfB: number[] = [];
    const countedStore: SharedStore = {
      ...store,
      deviceOwners: {
        ...store.deviceOwners,
        claim: (claims) => {
          claimsOfB.push(claims.length);
          return store.deviceOwners.claim(claims);
        },
      },
    };
    const b = await host('own-b', countedStore);
    // edge-1 first (through A), then edge-2 (through B) with the same device and points of its own.
    expect(await a.ingest.ingest(topics.batch('edge-1'), pointsOf('edge-1', 100, { 'dev-x': 10 }))).toBe(
      'committed',
    );
    expect(
      await b.ingest.ingest(topics.batch('edge-2'), pointsOf('edge-2', 1, { 'dev-x': 90, 'own-2': 50 })),
    ).toBe('committed');
    expect(a.acks.at(-1)!.refused).toEqual([]);
    expect(b.acks.at(-1)!.acked).toEqual([1]);
    expect(b.acks.at(-1)!.refused).toEqual([
      { seq: 1, device: 'dev-x', reason: 'not_owner: device dev-x is registered to another edge' },
    ]);
    expect(await counterValue(b.metrics.pointsRefused, { edge: 'edge-2', kind: 'reading' })).toBe(3);
    expect(await stored('dev-x')).toEqual([10, 11, 12]); // not overwritten by edge-2's 90, 91, 92
    expect(await stored('own-2')).toEqual([50, 51, 52]); // the rest of edge-2's batch is stored

    // edge-2 first (through A), then edge-1 (through B), in one group with a batch of its own device.
    expect(await a.ingest.ingest(topics.batch('edge-2'), pointsOf('edge-2', 2, { 'dev-y': 20 }))).toBe(
      'committed',
    );
    const group = [
      pointsOf('edge-1', 101, { 'dev-y': 70, 'own-1': 30 }),
      pointsOf('edge-1', 102, { 'own-1': 40 }),
    ].map((bytes) => {
      const p = b.ingest.prepare(topics.batch('edge-1'), bytes);
      if (p instanceof Promise) throw new Error('did not prepare');
      return p;
    });
    expect(await Promise.all(await b.ingest.commitGroup(group))).toEqual(['committed', 'committed']);
    expect(b.acks.find((k) => k.acked[0] === 101)!.refused).toEqual([
      { seq: 101, device: 'dev-y', reason: 'not_owner: device dev-y is registered to another edge' },
    ]);
    expect(b.acks.find((k) => k.acked[0] === 102)!.refused).toEqual([]);
    expect(await counterValue(b.metrics.pointsRefused, { edge: 'edge-1', kind: 'reading' })).toBe(3);
    expect(await stored('dev-y')).toEqual([20, 21, 22]);
    expect(await stored('own-1')).toEqual([30, 31, 32, 40, 41, 42]);
    // One claim for each of B's two commits (dev-x and own-2; then dev-y and own-1 of both batches)...
    expect(claimsOfB).toEqual([2, 3]);
    // ...and none once the owners are known.
    expect(
      await b.ingest.ingest(topics.batch('edge-1'), pointsOf('edge-1', 103, { 'own-1': 45, 'dev-y': 75 })),
    ).toBe('committed');
    expect(b.acks.at(-1)!.refused?.map((r) => r.device)).toEqual(['dev-y']);
    expect(claimsOfB).toEqual([2, 3]);
    // Host A refuses a resend of edge-2's dev-x batch the same way: its owner is known to every host.
    expect(await a.ingest.ingest(topics.batch('edge-2'), pointsOf('edge-2', 3, { 'dev-x': 95 }))).toBe(
      'committed',
    );
    expect(a.acks.at(-1)!.refused?.map((r) => r.device)).toEqual(['dev-x']);
    expect(await stored('dev-x')).toEqual([10, 11, 12]);
  });

  it('births seen in different orders by two hosts (two brokers) give the device one owner on both', async () => {
    const a = await host('birth-a');
    const b = await host('birth-b');
    const birth = (edgeId: string): Uint8Array =>
      encodeJson({
        state: 'online',
        edgeId,
        boot: 1,
        ts: T_OWN,
        version: '0.1.0',
        devices: [
          { id: 'dev-b', kind: 'air-quality', driver: 'modbus', metrics: [{ name: 'pm25', unit: 'µg/m³' }] },
        ],
      } satisfies Status);
    await a.status(topics.status('edge-1'), birth('edge-1'));
    await b.status(topics.status('edge-2'), birth('edge-2'));
    await b.status(topics.status('edge-1'), birth('edge-1'));
    await a.status(topics.status('edge-2'), birth('edge-2'));
    for (const h of [a, b]) expect(h.registry.devices().find((d) => d.id === 'dev-b')?.edge).toBe('edge-1');
    expect(await counterValue(b.metrics.pointsRefused, { edge: 'edge-2', kind: 'birth' })).toBe(1);
    // edge-2's readings of it, through the host that saw its birth first, are refused.
    expect(await b.ingest.ingest(topics.batch('edge-2'), pointsOf('edge-2', 10, { 'dev-b': 60 }))).toBe(
      'committed',
    );
    expect(b.acks.at(-1)!.refused?.map((r) => r.device)).toEqual(['dev-b']);
    expect(await stored('dev-b')).toEqual([]);
  });

  it('a birth whose claims fail (the shared store is gone) still marks the edge online, with only the devices known to be its own', async () => {
    const own = await openPostgresSharedStore({ url: pg.url });
    const a = await host('birth-fail', own);
    await own.close(); // a real failure: the next claim rejects
    const devices = ['pm-1', 'dev-new'].map((id) => ({
      id,
      kind: 'air-quality',
      driver: 'modbus',
      metrics: [],
    }));
    const status: Status = {
      state: 'online',
      edgeId: 'edge-1',
      boot: 7,
      ts: T_OWN,
      version: '0.1.0',
      devices,
    };
    await a.status(topics.status('edge-1'), encodeJson(status));
    expect(a.registry.edges().find((e) => e.id === 'edge-1')).toMatchObject({ online: true, boot: 7 });
    expect(await counterValue(a.metrics.statusMessages, { state: 'online', result: 'claim_failed' })).toBe(1);
    // pm-1 is edge-1's by registry.yaml (known at start); dev-new is nobody's yet: left out, not given away.
    const known = a.registry.devices().map((d) => [d.id, d.edge]);
    expect(known).toContainEqual(['pm-1', 'edge-1']);
    expect(known.map(([id]) => id)).not.toContain('dev-new');
  });

  it("two hosts: host B's history lists and answers the series only host A wrote", async () => {
    const a = await host('a6');
    const b = await host('b6');
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
    const a = await host('a7');
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
    const { cloud, stop } = await realHost('host-c');
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
      await stop();
    }
  });
  // Dead letters across hosts: a batch reaches one host (shared subscription), the operator's
  // request another (the proxy picks any). Host A is in process; host B a real village-cloud
  // (cloud.ts picks its dead-letter store). Times of their own, in a shard of their own (the fix
  // drops it).
  it('a dead letter made on host A is listed and re-driven through host B; re-drives through both at once write it once', async () => {
    const a = await host('dl-a');
    const T = T0 + 100 * 86_400_000;
    const conflict = async (ts: number) => {
      // A string already in field `legacy` (an older program): InfluxDB refuses numbers there for good.
      const res = await fetch(`${influxd.url}/write?db=village&precision=ms`, {
        method: 'POST',
        body: `air-quality,device=old legacy="text" ${ts}`,
      });
      expect(res.status).toBe(204);
    };
    const withLegacy = (seq: number, value: number, at = T) =>
      encodeBatch(
        makeBatch('edge-1', seq, 0, {
          readings: [
            { device: 'pm-1', metric: 'legacy', value, unit: '', ts: at + seq, quality: 'good' },
            { device: 'pm-1', metric: 'pm25', value: 1, unit: 'µg/m³', ts: at + seq, quality: 'good' },
          ],
        }),
      );
    type Letter = { id: number; edge: string; reason: string; state: string; count: number };
    await conflict(T);
    expect(await a.ingest.ingest(topics.batch('edge-1'), withLegacy(200, 5))).toBe('committed');

    const { cloud: b, stop } = await realHost('host-dl-b');
    const viaB = async <R>(path: string, method = 'GET') => {
      const r = await fetch(`http://127.0.0.1:${b.httpPort}${path}`, { method });
      return { status: r.status, body: (await r.json()) as R };
    };
    const viaA = async <R>(path: string, method = 'GET') => {
      const r = await a.api.request(path, { method });
      return { status: r.status, body: (await r.json()) as R };
    };
    const openOn = async (via: typeof viaA) =>
      (await via<{ deadLetters: Letter[] }>('/api/v1/dead-letters?state=open&edge=edge-1')).body.deadLetters;
    /** Points InfluxDB was asked to write since it started (its own statistics). */
    const pointsWritten = async () => {
      const vars = (await (await fetch(`${influxd.url}/debug/vars`)).json()) as Record<
        string,
        { name?: string; values?: Record<string, number> }
      >;
      return Object.values(vars).find((v) => v?.name === 'write')!.values!.pointReq!;
    };
    /** Drops the shard holding time `ts`: InfluxDB forgets the field types it held. */
    const dropShardAt = async (ts: number) => {
      const [shards] = await influxd.query('SHOW SHARDS', 'village');
      const shard = shards!.series!.find((s) => s.name === 'village')!;
      const col = (name: string) => shard.columns.indexOf(name);
      const holding = shard.values.find(
        (v) =>
          Date.parse(v[col('start_time')] as string) <= ts && ts < Date.parse(v[col('end_time')] as string),
      )!;
      await influxd.query(`DROP SHARD ${holding[col('id')]}`, 'village');
    };
    const legacyAt = async (ts: number) => {
      const [r] = await influxd.query(
        `SELECT "legacy" FROM "air-quality" WHERE "device" = 'pm-1' AND time = ${ts}ms`,
        'village',
      );
      return r?.series?.[0]?.values.map((v) => v[1]) ?? [];
    };
    try {
      // Host B lists the letter host A made (it used to list only its own cloud.db's: none).
      const listed = await openOn(viaB);
      expect(listed.map((l) => [l.edge, l.reason, l.count])).toEqual([['edge-1', 'field_type_conflict', 1]]);
      const id = listed[0]!.id;
      expect(await openOn(viaA)).toEqual(listed);
      // Re-driven through B while the conflict is still there: refused again, B's refusal bumps A's letter.
      const refused = await viaB<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, 'POST');
      expect([refused.status, refused.body.error.code]).toEqual([409, 'still_failing']);
      expect((await openOn(viaA)).map((l) => [l.id, l.count])).toEqual([[id, 2]]);

      // The cause fixed (the shard holding the string dropped): the re-drive through B stores it.
      await dropShardAt(T);
      const stored = await viaB<{ deadLetter: Letter; outcome: string }>(
        `/api/v1/dead-letters/${id}/redrive`,
        'POST',
      );
      expect([stored.status, stored.body.outcome, stored.body.deadLetter.state]).toEqual([
        200,
        'committed',
        'redriven',
      ]);
      expect(await legacyAt(T + 200)).toEqual([5]);
      // Gone from the open letters on both hosts.
      expect(await openOn(viaA)).toEqual([]);
      expect(await openOn(viaB)).toEqual([]);
      const again = await viaA<{ error: { code: string } }>(`/api/v1/dead-letters/${id}/redrive`, 'POST');
      expect([again.status, again.body.error.code]).toEqual([409, 'already_redriven']);

      // A second letter, re-driven through A and B at once (four requests each): written once.
      // (In a shard of its own: the re-drive made `legacy` a float field in T's new shard.)
      const T2 = T + 30 * 86_400_000;
      await conflict(T2);
      expect(await a.ingest.ingest(topics.batch('edge-1'), withLegacy(201, 6, T2))).toBe('committed');
      const [second] = await openOn(viaB);
      await dropShardAt(T2);
      const before = await pointsWritten();
      const path = `/api/v1/dead-letters/${second!.id}/redrive`;
      const results = await Promise.all(
        [viaA, viaB, viaA, viaB, viaA, viaB, viaA, viaB].map((via) =>
          via<{ error?: { code: string } }>(path, 'POST'),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200))
        expect([r.status, ['redrive_in_progress', 'already_redriven'].includes(r.body.error!.code)]).toEqual([
          409,
          true,
        ]);
      expect((await pointsWritten()) - before).toBe(1); // its one line, once
      expect(await legacyAt(T2 + 201)).toEqual([6]);
      expect(await openOn(viaA)).toEqual([]);
    } finally {
      await stop();
    }
  });
  it('a point refused while its dead letter cannot be kept (PostgreSQL away): the batch is not recorded nor acked; the resend keeps it', async () => {
    const own = await openPostgresSharedStore({ url: pg.url });
    await own.close(); // a real failure: its adds reject
    const a = await host('dl-away', { ...store, deadLetters: own.deadLetters });
    const T = T0 + 200 * 86_400_000;
    const res = await fetch(`${influxd.url}/write?db=village&precision=ms`, {
      method: 'POST',
      body: `air-quality,device=old legacy="text" ${T}`,
    });
    expect(res.status).toBe(204);
    const bytes = encodeBatch(
      makeBatch('edge-1', 300, 0, {
        readings: [{ device: 'pm-1', metric: 'legacy', value: 7, unit: '', ts: T, quality: 'good' }],
      }),
    );
    expect(await a.ingest.ingest(topics.batch('edge-1'), bytes)).toBe('failed');
    expect(a.acks).toEqual([]);
    expect(await store.isCommitted('edge-1', LEGACY_EPOCH, 300)).toBe(false);
    // The edge resends to a host whose store answers: kept, then recorded and acked.
    const b = await host('dl-back');
    expect(await b.ingest.ingest(topics.batch('edge-1'), bytes)).toBe('committed');
    expect(b.acks.map((k) => k.acked)).toEqual([[300]]);
    const letters = await store.deadLetters.list({ edge: 'edge-1', state: 'open', limit: 10 });
    expect(letters.map((l) => [l.reason, l.detail.includes(`${T}`)])).toEqual([
      ['field_type_conflict', true],
    ]);
  });
});
