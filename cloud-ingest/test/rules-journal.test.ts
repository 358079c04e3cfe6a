import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ack, Reading } from '@village/protocol';
import { type Mosquitto, startMosquitto, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import type { AlertView } from '../src/rules-runtime/rules-store.js';
import { REGISTRY, T0, collectAcks, counterValue, makeBatch, publishBatch } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const USERS = { ingest: 'pw-ingest-journal', 'edge-1': 'pw-edge-1' };
const RULES = {
  thresholds: [
    // Needs 9 s of data time beyond the level: more than either half of the test's readings spans.
    { id: 'hr-held', metric: 'heart_rate', devices: ['wb-1'], level: 130, holdMs: 9_000 },
    { id: 'pm25-high', metric: 'pm25', level: 100, clearLevel: 80 },
  ],
  incidents: { ackDeadlineMs: 600_000 },
};
const reading = (device: string, metric: string, value: number, ts: number): Reading => ({
  device,
  metric,
  value,
  unit: metric === 'pm25' ? 'µg/m³' : 'bpm',
  ts,
  quality: 'good',
});

interface Worker {
  cloud: RunningCloud;
  logs: Record<string, unknown>[];
}

describe('rules with several ingest workers: the committed-batch journal (real Mosquitto)', () => {
  let broker: Mosquitto;
  let dir: string;
  let edge: MqttClient;
  let acks: Ack[];
  const workers = new Map<string, Worker>();
  let seq = 0;

  const startWorker = async (clientId: string, rulesEnabled: boolean): Promise<Worker> => {
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: {
          mode: 'external',
          url: broker.ingestUrl,
          username: 'ingest',
          password: '${TEST_JOURNAL_INGEST_PASSWORD}',
          clientId,
          sessionExpiryS: 0,
        },
        ingest: { journal: { pollMs: 20, rowsPerPoll: 7, leaseMs: 900 } },
        http: { port: 0 },
        log: { level: 'info' },
        rules: { ...RULES, enabled: rulesEnabled },
      },
      dir,
    );
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const w = { cloud: await startCloud(config, log), logs };
    workers.set(clientId, w);
    return w;
  };
  const stopWorker = async (clientId: string) => {
    await workers.get(clientId)?.cloud.close();
    workers.delete(clientId);
  };
  const acked = (s: number) => acks.some((a) => a.acked.includes(s));
  const send = async (readings: Reading[]): Promise<number> => {
    seq++;
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', seq, 0, { readings }));
    return seq;
  };
  const waitAcked = (seqs: number[]) =>
    waitFor(`acks of seqs ${seqs.join(',')}`, () => seqs.every(acked), { timeoutMs: 30_000 });
  const api = async <T>(w: Worker, path: string) => {
    const r = await fetch(`http://127.0.0.1:${w.cloud.httpPort}${path}`);
    return { status: r.status, body: (await r.json()) as T };
  };
  const alertsOf = async (w: Worker, rule: string) =>
    (await api<{ alerts: AlertView[] }>(w, `/api/v1/alerts?rule=${rule}`)).body.alerts;
  const journalRows = (w: Worker) =>
    (w.cloud.db.prepare('SELECT COUNT(*) AS n FROM committed_journal').get() as { n: number }).n;
  const committedBy = (w: Worker) => counterValue(w.cloud.metrics.batches, { result: 'committed' });

  beforeAll(async () => {
    broker = await startMosquitto(USERS);
    dir = mkdtempSync(join(tmpdir(), 'rules-journal-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    process.env.TEST_JOURNAL_INGEST_PASSWORD = USERS.ingest;
    edge = mqtt.connect(broker.url, {
      protocolVersion: 4,
      clientId: `edge-1-${Math.random().toString(16).slice(2, 8)}`,
      username: 'edge-1',
      password: USERS['edge-1'],
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      edge.once('connect', () => resolve());
      edge.once('error', reject);
    });
    acks = await collectAcks(edge, 'edge-1');
  }, 60_000);
  afterAll(async () => {
    await edge?.endAsync(true);
    for (const id of [...workers.keys()]) await stopWorker(id);
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a held threshold over a wristband whose readings came half via worker B, half via worker A', async () => {
    // Phase 1: only the ingest-only worker B consumes: the first 5 s of readings go through it.
    const b = await startWorker('worker-b', false);
    expect(b.cloud.rules).toBeUndefined();
    const first: number[] = [];
    for (let i = 0; i < 5; i++) first.push(await send([reading('wb-1', 'heart_rate', 150, T0 + i * 1000)]));
    await waitAcked(first);
    expect(await committedBy(b)).toBe(5);
    // B journals but runs no rules: its rows wait for the rules worker.
    expect(journalRows(b)).toBe(5);

    // Phase 2: the rules worker A starts, B leaves; the next 5 s go through A.
    const a = await startWorker('worker-a', true);
    await stopWorker('worker-b');
    const second: number[] = [];
    for (let i = 5; i < 10; i++) second.push(await send([reading('wb-1', 'heart_rate', 150, T0 + i * 1000)]));
    await waitAcked(second);
    expect(await committedBy(a)).toBe(5);

    // Either half alone spans 4 s < holdMs: only both shares together raise it, from B's first reading.
    const held = await waitFor(
      'the held heart-rate alert',
      async () => {
        const list = await alertsOf(a, 'hr-held');
        return list.length === 1 ? list[0] : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(held).toMatchObject({ state: 'active', device: 'wb-1', village: 'v1', station: 's1' });
    expect(held.data.since).toBe(T0);
    // Consumed rows are pruned with the state write that saw them.
    await waitFor('the journal pruned', () => journalRows(a) === 0);
  }, 90_000);

  it('a storm of 1,000 triggers spread over both workers is one alert with count 1,000; resends count once', async () => {
    const a = workers.get('worker-a')!;
    const b = await startWorker('worker-b', false);
    const [aBefore, bBefore] = [await committedBy(a), await committedBy(b)];
    const storm: number[] = [];
    for (let n = 0; n < 40; n++) {
      storm.push(
        await send(
          Array.from({ length: 25 }, (_, i) =>
            reading('pm-1', 'pm25', 300, T0 + 100_000 + (n * 25 + i) * 1000),
          ),
        ),
      );
    }
    await waitAcked(storm);
    const shares = [(await committedBy(a)) - aBefore, (await committedBy(b)) - bBefore];
    expect(shares[0]! + shares[1]!).toBe(40);
    // The broker's shared subscription gave each worker a share (else this proves nothing).
    expect(shares.every((n) => n > 0)).toBe(true);

    // Resends of three committed seqs, each reaching whichever worker: acked again, never journaled.
    const dupBefore =
      (await counterValue(a.cloud.metrics.batches, { result: 'duplicate' })) +
      (await counterValue(b.cloud.metrics.batches, { result: 'duplicate' }));
    for (const s of storm.slice(0, 3)) {
      await publishBatch(
        edge,
        'edge-1',
        makeBatch('edge-1', s, 0, {
          readings: Array.from({ length: 25 }, (_, i) =>
            reading('pm-1', 'pm25', 300, T0 + 100_000 + ((s - storm[0]!) * 25 + i) * 1000),
          ),
        }),
      );
    }
    await waitFor(
      'three duplicates acked',
      async () =>
        (await counterValue(a.cloud.metrics.batches, { result: 'duplicate' })) +
          (await counterValue(b.cloud.metrics.batches, { result: 'duplicate' })) ===
        dupBefore + 3,
      { timeoutMs: 20_000 },
    );
    await waitFor('the journal drained', () => journalRows(a) === 0, { timeoutMs: 20_000 });
    const list = await alertsOf(a, 'pm25-high');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ state: 'active', device: 'pm-1', count: 1_000 });
  }, 90_000);

  it('a second rules worker stands by (503), takes over when the first stops, and loses nothing', async () => {
    const c = await startWorker('worker-c', true);
    expect(c.logs.some((l) => l.msg === 'rules: another worker runs the rules, standing by')).toBe(true);
    const standby = await api<{ error: { code: string } }>(c, '/api/v1/alerts');
    expect(standby.status).toBe(503);
    expect(standby.body.error.code).toBe('rules_standby');

    // A stops (its last state write and the lease release); more triggers arrive meanwhile via B and C.
    await stopWorker('worker-a');
    const more: number[] = [];
    for (let n = 0; n < 10; n++) {
      more.push(
        await send(
          Array.from({ length: 25 }, (_, i) =>
            reading('pm-1', 'pm25', 300, T0 + 200_000 + (n * 25 + i) * 1000),
          ),
        ),
      );
    }
    await waitAcked(more);
    await waitFor(
      'worker c to take over',
      () => c.logs.some((l) => l.msg === 'rules: this worker runs the rules'),
      { timeoutMs: 20_000 },
    );
    // C goes on from A's saved state and cursor: the same alert, now 1,250, neither reset nor doubled.
    await waitFor(
      'the storm alert at 1,250 on worker c',
      async () => {
        const list = await alertsOf(c, 'pm25-high');
        return list.length === 1 && list[0]!.count === 1_250;
      },
      { timeoutMs: 20_000 },
    );
    await waitFor('the journal drained by c', () => journalRows(c) === 0);
    expect((await alertsOf(c, 'hr-held')).length).toBe(1);
  }, 90_000);
});

describe('embedded mode keeps the in-process feed', () => {
  it('writes no journal', async () => {
    const t = await startRulesCloud({ rules: RULES });
    try {
      const client = await t.connectEdge();
      const got = await collectAcks(client, 'edge-1');
      await publishBatch(
        client,
        'edge-1',
        makeBatch('edge-1', 1, 0, { readings: [reading('pm-1', 'pm25', 300, T0)] }),
      );
      await waitFor('ack', () => got.some((a) => a.acked.includes(1)));
      await waitFor(
        'the alert',
        async () => (await t.api<{ alerts: AlertView[] }>('/api/v1/alerts')).body.alerts.length === 1,
      );
      const table = t.cloud.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'committed_journal'")
        .get();
      expect(table).toBeUndefined();
    } finally {
      await t.stop();
    }
  }, 60_000);
});
