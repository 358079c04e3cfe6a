import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, decodeAck, encodeBatch, topics } from '@village/protocol';
import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { openDatabase } from '../src/store/open-database.js';
import { createSharedSeqState } from '../src/store/shared-seq-state.js';
import { REGISTRY, commitGroups, counterValue, makeBatch } from './cloud-fixture.js';

const USERS = { ingest: 'pw-ingest', 'edge-1': 'pw-edge-1', 'edge-2': 'pw-edge-2' };

describe('shared seq state across processes (two connections to one SQLite file)', () => {
  it('interleaved commits of one edge by two workers leave H exact; a seq recorded twice is a no-op', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shared-seq-'));
    const [a, b] = [openDatabase(dir), openDatabase(dir)];
    try {
      const [sa, sb] = [createSharedSeqState(a), createSharedSeqState(b)];
      const order = [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 9, 3];
      order.forEach((seq, i) => {
        const [db, s] = i % 2 === 0 ? [a, sa] : [b, sb];
        db.transaction(() => s.record('edge-1', seq))();
      });
      // A worker caching H in memory would have gone back or stalled here.
      expect(sa.snapshot('edge-1')).toEqual({ highWater: 10, above: [] });
      expect(sb.isCommitted('edge-1', 7)).toBe(true);
      expect(sb.isCommitted('edge-1', 11)).toBe(false);
      b.transaction(() => sb.record('edge-1', 13))();
      expect(sa.snapshot('edge-1')).toEqual({ highWater: 10, above: [13] });
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('external broker mode: two ingest workers on a real Mosquitto', () => {
  let broker: Mosquitto;
  let dir: string;
  const workers: RunningCloud[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto(USERS);
    dir = mkdtempSync(join(tmpdir(), 'external-ingest-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    process.env.TEST_INGEST_PASSWORD = USERS.ingest;
    for (const id of ['worker-a', 'worker-b']) {
      const config = parseConfig(
        {
          dataDir: './data',
          registry: './registry.yaml',
          mqtt: {
            mode: 'external',
            url: broker.ingestUrl,
            username: 'ingest',
            password: '${TEST_INGEST_PASSWORD}',
            clientId: id,
          },
          http: { port: 0 },
          log: { level: 'silent' },
        },
        dir,
      );
      workers.push(
        await startCloud(config, pino({ level: process.env.TEST_LOG ?? 'silent' }, pino.destination(2))),
      );
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    for (const w of workers) await w.close();
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (user: keyof typeof USERS, password: string = USERS[user]) => {
    const client = mqtt.connect(broker.url, {
      protocolVersion: 4,
      clientId: `${user}-${Math.random().toString(16).slice(2, 8)}`,
      username: user,
      password,
      reconnectPeriod: 0,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  };

  it('the workers split the batches of one edge; every seq is acked and committed once', async () => {
    const edge = await connect('edge-1');
    const acks: Ack[] = [];
    edge.on('message', (topic, payload) => {
      if (topic === topics.ack('edge-1')) acks.push(decodeAck(payload));
    });
    await edge.subscribeAsync(topics.ack('edge-1'), { qos: 1 });
    const N = 60;
    for (let seq = 1; seq <= N; seq++) {
      await edge.publishAsync(
        topics.batch('edge-1'),
        Buffer.from(encodeBatch(makeBatch('edge-1', seq, 20, {}, Date.UTC(2026, 0, 1) + seq * 100_000))),
        { qos: 1 },
      );
    }
    await waitFor('acks of every seq', () => new Set(acks.flatMap((a) => a.acked)).size === N, {
      timeoutMs: 30_000,
    });
    const perWorker = await Promise.all(
      workers.map((w) => counterValue(w.metrics.batches, { result: 'committed' })),
    );
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(N);
    // Both took a share (shared subscription round robin), so acks came from both.
    expect(perWorker.every((n) => n > 0)).toBe(true);
    const db = workers[0]!.db;
    expect(db.prepare('SELECT high_water AS h FROM edge_seq_state WHERE edge = ?').get('edge-1')).toEqual({
      h: N,
    });
    expect(db.prepare('SELECT COUNT(*) AS n FROM readings').get()).toEqual({ n: N * 20 });
  }, 60_000);

  it('commits batches that arrive together in groups, each acked once after its commit, journaled once', async () => {
    const edge = await connect('edge-1');
    const acks: Ack[] = [];
    edge.on('message', (topic, payload) => {
      if (topic === topics.ack('edge-1')) acks.push(decodeAck(payload));
    });
    await edge.subscribeAsync(topics.ack('edge-1'), { qos: 1 });
    const groups = () => Promise.all(workers.map((w) => commitGroups(w.metrics.commitGroupBatches)));
    const fed = async () => {
      let n = 0;
      for (const w of workers) {
        const c = w.metrics.registry.getSingleMetric('cloud_rules_journal_rows_total') as Counter<string>;
        n += await counterValue(c, { result: 'fed' });
      }
      return n;
    };
    // The first test's 60 batches reach the rules worker by its journal poll, after their acks.
    await waitFor('the first test fed to the rules', async () => (await fed()) >= 60);
    const before = await groups();
    const fedBefore = await fed();
    // 200 batches published at once (of a new outbox epoch, seqs from 1): they queue at the broker
    // and reach the workers while a commit runs.
    const N = 200;
    const T = Date.UTC(2026, 1, 1);
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        edge.publishAsync(
          topics.batch('edge-1'),
          Buffer.from(encodeBatch(makeBatch('edge-1', 1 + i, 20, { epoch: 'group-test' }, T + i * 100_000))),
          { qos: 1 },
        ),
      ),
    );
    await waitFor('acks of every seq', () => new Set(acks.flatMap((a) => a.acked)).size === N, {
      timeoutMs: 30_000,
    });
    const after = await groups();
    const transactions = after.reduce((n, g, i) => n + g.transactions - before[i]!.transactions, 0);
    const batches = after.reduce((n, g, i) => n + g.batches - before[i]!.batches, 0);
    // At least every batch once: a copy both workers took is written by both (same keys, so
    // stored once, and recorded new by one: the exact checks are the readings, H and the journal).
    expect(batches).toBeGreaterThanOrEqual(N);
    // One message at a time (the code before) is one transaction per batch.
    expect(transactions).toBeLessThan(N / 2);
    const db = workers[0]!.db;
    expect(db.prepare('SELECT COUNT(*) AS n FROM readings WHERE ts >= ?').get(T)).toEqual({ n: N * 20 });
    expect(
      db
        .prepare('SELECT high_water AS h FROM edge_seq_state WHERE edge = ? AND epoch = ?')
        .get('edge-1', 'group-test'),
    ).toEqual({ h: N });
    // The journal for the rules worker (which prunes what it read): each batch fed to it once.
    await waitFor(
      'every batch fed to the rules from the journal',
      async () => (await fed()) - fedBefore >= N,
    );
    expect((await fed()) - fedBefore).toBe(N);
  }, 60_000);

  it('the broker enforces credentials and the topic ACL (examples/mosquitto.acl)', async () => {
    await expect(connect('edge-1', 'wrong')).rejects.toThrow(/Not authorized|Bad username or password/i);
    const intruder = await connect('edge-2');
    const before = await Promise.all(workers.map((w) => counterValue(w.metrics.batches)));
    // edge-2 publishing as edge-1: Mosquitto drops it (3.1.1 has no refusal code), nothing is ingested.
    await intruder.publishAsync(
      topics.batch('edge-1'),
      Buffer.from(encodeBatch(makeBatch('edge-1', 1000, 1))),
      { qos: 1 },
    );
    // ... while its own batch goes through, so the silence above is the ACL, not a stalled pipe.
    await intruder.publishAsync(topics.batch('edge-2'), Buffer.from(encodeBatch(makeBatch('edge-2', 1, 1))), {
      qos: 1,
    });
    await waitFor(
      'edge-2 batch ingested',
      async () =>
        (await Promise.all(workers.map((w) => counterValue(w.metrics.batches)))).reduce((a, b) => a + b, 0) >
        before.reduce((a, b) => a + b, 0),
    );
    const total = (await Promise.all(workers.map((w) => counterValue(w.metrics.batches)))).reduce(
      (a, b) => a + b,
      0,
    );
    expect(total - before.reduce((a, b) => a + b, 0)).toBe(1);
    const above = workers[0]!.db.prepare('SELECT seq FROM edge_seq_above WHERE edge = ?').all('edge-1');
    expect(above).toEqual([]);
  }, 60_000);
});
