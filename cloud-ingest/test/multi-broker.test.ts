import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, type Batch, decodeAck, encodeBatch, topics } from '@village/protocol';
import type { HealthResponse } from '@village/protocol/api';
import {
  type Mosquitto,
  type ServerProcess,
  fetchMetrics,
  startMosquitto,
  startServerProcess,
  waitFor,
} from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { REGISTRY, commitGroups, counterValue } from './cloud-fixture.js';
import { runBin } from './run-cloud-bin.js';

// Issue 20: one ingest worker consumes several brokers (mqtt.url a list) and acks each batch on
// the broker it came from. Real Mosquitto brokers (the shipped examples/mosquitto.conf and .acl),
// raw MQTT 3.1.1 clients as the edges.

const USERS = { ingest: 'pw-ingest', 'edge-1': 'pw-edge-1', 'edge-2': 'pw-edge-2' };
type Edge = 'edge-1' | 'edge-2';
const DEVICE: Record<Edge, string> = { 'edge-1': 'pm-1', 'edge-2': 'pm-2' };
const READINGS = 5;

/** Two edges of one station, one air-quality device each. */
const TWO_EDGES = {
  ...REGISTRY,
  counties: [
    {
      id: 'c1',
      name: 'c1',
      towns: [
        {
          id: 't1',
          name: 't1',
          villages: [
            { id: 'v1', name: 'v1', stations: [{ id: 's1', name: 's1', edges: ['edge-1', 'edge-2'] }] },
          ],
        },
      ],
    },
  ],
  people: [],
  devices: [
    { id: 'pm-1', edge: 'edge-1', kind: 'air-quality', driver: 'modbus' },
    { id: 'pm-2', edge: 'edge-2', kind: 'air-quality', driver: 'modbus' },
    { id: 'siren-1', edge: 'edge-1', kind: 'siren', driver: 'modbus' },
    { id: 'siren-2', edge: 'edge-2', kind: 'siren', driver: 'modbus' },
  ],
};

/** A batch of READINGS readings of the edge's own device, at times no other seq uses. */
const batchOf = (edge: Edge, seq: number): Batch => {
  const t0 = Date.UTC(2026, 0, 1) + seq * 100_000;
  return {
    edgeId: edge,
    seq,
    boot: 1,
    createdAt: t0 + READINGS * 1000,
    historical: false,
    readings: Array.from({ length: READINGS }, (_, i) => ({
      device: DEVICE[edge],
      metric: 'pm25',
      value: 10 + i,
      unit: 'µg/m³',
      ts: t0 + i * 1000,
      quality: 'good' as const,
    })),
    events: [],
  };
};

/** A raw edge on one broker: the acks and commands it received on its own down/ topics. */
interface RawEdge {
  client: MqttClient;
  acks: Ack[];
  commands: string[];
  acked(): Set<number>;
  send(seqs: readonly number[]): Promise<unknown>;
}

const dirs: string[] = [];
const clients: MqttClient[] = [];

async function connectEdge(broker: Mosquitto, edge: Edge): Promise<RawEdge> {
  const client = mqtt.connect(broker.url, {
    protocolVersion: 4,
    clientId: edge,
    username: edge,
    password: USERS[edge],
    reconnectPeriod: 0,
  });
  clients.push(client);
  // A broker killed under it is part of the test: its socket error must not be unhandled.
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const acks: Ack[] = [];
  const commands: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.ack(edge)) acks.push(decodeAck(payload));
    if (topic === topics.cmd(edge)) commands.push((JSON.parse(payload.toString()) as { id: string }).id);
  });
  await client.subscribeAsync([topics.ack(edge), topics.cmd(edge)], { qos: 1 });
  return {
    client,
    acks,
    commands,
    acked: () => new Set(acks.flatMap((a) => a.acked)),
    send: (seqs) =>
      Promise.all(
        seqs.map((seq) =>
          client.publishAsync(topics.batch(edge), Buffer.from(encodeBatch(batchOf(edge, seq))), { qos: 1 }),
        ),
      ),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function startWorker(
  urls: string[],
  clientId: string,
  ingest: Record<string, unknown> = {},
): Promise<RunningCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'multi-broker-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'registry.yaml'), stringify(TWO_EDGES));
  process.env.TEST_INGEST_PASSWORD = USERS.ingest;
  const config = parseConfig(
    {
      dataDir: './data',
      registry: './registry.yaml',
      mqtt: {
        mode: 'external',
        url: urls,
        username: 'ingest',
        password: '${TEST_INGEST_PASSWORD}',
        clientId,
      },
      ingest,
      http: { port: 0 },
      log: { level: 'silent' },
    },
    dir,
  );
  return startCloud(config, pino({ level: process.env.TEST_LOG ?? 'silent' }, pino.destination(2)));
}

const health = async (w: RunningCloud) =>
  (await (await fetch(`http://127.0.0.1:${w.httpPort}/api/v1/health`)).json()) as HealthResponse;
const brokerUp = async (w: RunningCloud, b: Mosquitto) =>
  (await fetchMetrics(`http://127.0.0.1:${w.httpPort}/metrics`)).get(
    `cloud_external_broker_up{broker="${b.ingestUrl}"}`,
  );
const sendCommand = async (w: RunningCloud, device: string) => {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/api/v1/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ device, action: 'on' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { command: { id: string } }).command.id;
};

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('one ingest worker on two Mosquitto brokers (mqtt.url a list)', () => {
  let a: Mosquitto;
  let b: Mosquitto;
  let worker: RunningCloud;
  let edge1: RawEdge;
  let edge2: RawEdge;

  beforeAll(async () => {
    [a, b] = await Promise.all([startMosquitto(USERS), startMosquitto(USERS)]);
    // Slowed a little, so batches are still queued on a broker when it is killed below.
    worker = await startWorker([a.ingestUrl, b.ingestUrl], 'worker-1', { testDelayMs: 25 });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await Promise.all([a?.dispose(), b?.dispose()]);
  });

  it('acks each batch on the broker it came from and on no other; a command goes out on both', async () => {
    edge1 = await connectEdge(a, 'edge-1');
    edge2 = await connectEdge(b, 'edge-2');
    // The same edges' down/ topics watched on the other broker: nothing but commands may come there.
    const spy1 = await connectEdge(b, 'edge-1');
    const spy2 = await connectEdge(a, 'edge-2');
    await Promise.all([edge1.send(range(1, 20)), edge2.send(range(1, 20))]);
    await waitFor(
      () => `every seq acked on its own broker (edge-1 ${edge1.acked().size}, edge-2 ${edge2.acked().size})`,
      () => edge1.acked().size === 20 && edge2.acked().size === 20,
    );
    // Sent at once, the 40 batches were committed in groups (so groups held batches of both
    // brokers): each ack still went back on its own batch's broker (checked on the spies below).
    const { transactions, batches } = await commitGroups(worker.metrics.commitGroupBatches);
    expect(batches).toBe(40);
    expect(transactions).toBeLessThan(40);
    // A rejection ack answers its batch the same way: seq 0 is refused (bad_seq) on A only.
    await edge1.send([0]);
    await waitFor('the rejection of seq 0 on A', () =>
      edge1.acks.some((x) => x.rejected.some((r) => r.seq === 0)),
    );
    expect((await health(worker)).brokers).toEqual([
      { broker: a.ingestUrl, up: true },
      { broker: b.ingestUrl, up: true },
    ]);
    expect(await brokerUp(worker, a)).toBe(1);
    expect(await brokerUp(worker, b)).toBe(1);

    // A command is not a reply: it goes to every broker (the edge is on one of them). Published
    // after the acks on the same connections, it also marks the point by which a stray ack on
    // the wrong broker would have arrived.
    const [cmd1, cmd2] = [await sendCommand(worker, 'siren-1'), await sendCommand(worker, 'siren-2')];
    await waitFor(
      'each command on both brokers',
      () =>
        [edge1, spy1].every((e) => e.commands.includes(cmd1)) &&
        [edge2, spy2].every((e) => e.commands.includes(cmd2)),
    );
    expect(spy1.acks).toEqual([]);
    expect(spy2.acks).toEqual([]);
    // The spies take the edges' client ids on the other broker: gone before edge-1 moves to B.
    await Promise.all([spy1.client.endAsync(), spy2.client.endAsync()]);
  }, 60_000);

  it('broker A killed: edges on B keep being acked; an edge moving from A to B gets every seq acked, each committed once', async () => {
    const committedBefore = await counterValue(worker.metrics.batches, { result: 'committed' });
    const sending = edge1.send(range(21, 60));
    await waitFor('the first batches of edge-1 acked on A', () =>
      range(21, 60).some((s) => edge1.acked().has(s)),
    );
    await sending; // every one is on broker A (its PUBACK came) ...
    await a.stop(); // ... and A dies with the rest still queued for the worker.
    const ackedOnA = range(21, 60).filter((s) => edge1.acked().has(s));
    const unacked = range(21, 60).filter((s) => !edge1.acked().has(s));
    expect(unacked.length).toBeGreaterThan(0);

    await waitFor('/health: A down, B up', async () => {
      const links = (await health(worker)).brokers;
      return links?.[0]?.up === false && links[1]?.up === true;
    });
    expect(await brokerUp(worker, a)).toBe(0);
    expect(await brokerUp(worker, b)).toBe(1);

    await edge2.send(range(21, 40));
    await waitFor(
      () => `edge-2 acked on B with A down (${edge2.acked().size}/40)`,
      () => edge2.acked().size === 40,
    );

    // edge-1 fails over to B and resends what A never acked, plus one seq whose ack it "lost".
    const moved = await connectEdge(b, 'edge-1');
    const resent = [...unacked, ackedOnA[0]!];
    await moved.send(resent);
    await waitFor(
      () =>
        `every resent seq acked on B (${resent.filter((s) => moved.acked().has(s)).length}/${resent.length})`,
      () => resent.every((s) => moved.acked().has(s)),
    );

    // Each seq committed once: 40 of edge-1 and 20 of edge-2 since the kill's start, the rest duplicates.
    expect((await counterValue(worker.metrics.batches, { result: 'committed' })) - committedBefore).toBe(60);
    expect(await counterValue(worker.metrics.batches, { result: 'duplicate' })).toBeGreaterThanOrEqual(1);
    expect(await counterValue(worker.metrics.rewrites)).toBe(0);
    const db = worker.db;
    const state = db.prepare('SELECT edge, high_water AS h FROM edge_seq_state ORDER BY edge').all();
    expect(state).toEqual([
      { edge: 'edge-1', h: 60 },
      { edge: 'edge-2', h: 40 },
    ]);
    // Stored = sent.
    const stored = db
      .prepare(
        'SELECT s.device AS device, COUNT(*) AS n FROM readings r JOIN series s ON s.id = r.series_id GROUP BY s.device ORDER BY s.device',
      )
      .all();
    expect(stored).toEqual([
      { device: 'pm-1', n: 60 * READINGS },
      { device: 'pm-2', n: 40 * READINGS },
    ]);
  }, 90_000);
});

describe('a broker unreachable at start', () => {
  let c: Mosquitto;
  let d: Mosquitto;
  let restarted: ServerProcess | undefined;
  let worker: RunningCloud | undefined;

  beforeAll(async () => {
    [c, d] = await Promise.all([startMosquitto(USERS), startMosquitto(USERS)]);
    await c.stop(); // its folder and ports stay known: it comes back below
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await restarted?.stop();
    await Promise.all([c?.dispose(), d?.dispose()]);
  });

  it('does not stop the start: the worker runs on the other, retries it, and consumes it once it is up', async () => {
    worker = await startWorker([c.ingestUrl, d.ingestUrl], 'worker-2');
    expect((await health(worker)).brokers).toEqual([
      { broker: c.ingestUrl, up: false },
      { broker: d.ingestUrl, up: true },
    ]);
    expect(await brokerUp(worker, c)).toBe(0);
    const onD = await connectEdge(d, 'edge-2');
    await onD.send([1]);
    await waitFor('edge-2 acked on D', () => onD.acked().has(1));

    // The same mosquitto.conf, so the same ports, as startMosquitto wrote it.
    restarted = startServerProcess(
      'mosquitto',
      ['-c', join(c.dir, 'mosquitto.conf')],
      join(c.dir, 'mosquitto.log'),
    );
    await waitFor('/health: C up', async () => (await health(worker!)).brokers?.[0]?.up === true, {
      timeoutMs: 30_000,
    });
    expect(await brokerUp(worker, c)).toBe(1);
    const onC = await waitFor('edge-1 connected to C', () => connectEdge(c, 'edge-1'));
    await onC.send([1, 2]);
    await waitFor('edge-1 acked on C', () => onC.acked().has(1) && onC.acked().has(2));
    expect(onD.acks.flatMap((x) => x.acked)).toEqual([1]);
  }, 90_000);
});

describe('village-cloud with a bad broker list', () => {
  it('exits 2 naming the file, the entry and the value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multi-broker-bin-'));
    dirs.push(dir);
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, stringify({ mqtt: { mode: 'external', url: ['mqtt://a:1884', 'http://b:1884'] } }));
    const r = runBin(['--config', file]);
    expect(await r.exit).toBe(2);
    expect(r.stderr.join('')).toContain('cloud.yaml: mqtt.url.1: "http://b:1884" is not an MQTT URL');
  });
});
