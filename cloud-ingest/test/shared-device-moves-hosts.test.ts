import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ack, type Status, encodeBatch, encodeJson, topics } from '@village/protocol';
import {
  type Influxd,
  type Mosquitto,
  type Postgres,
  influxReadings,
  startInfluxd,
  startMosquitto,
  startPostgres,
  waitFor,
} from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { hashPassword } from '../src/password-hash.js';
import { PASSWORDS, REGISTRY, T0, collectAcks, counterValue, makeBatch } from './cloud-fixture.js';

const INGEST_PASSWORD = 'pw-ingest-moves';
const ADMIN_PASSWORD = 'admin-password';
const HOSTS = ['host-a', 'host-b'] as const;
type HostName = (typeof HOSTS)[number];

/**
 * Two real ingest hosts (startCloud in process, each its own folder and cloud.db) with
 * `store.kind: postgres` on one real PostgreSQL, writing to one real influxd, each consuming a
 * Mosquitto of its own, so the test picks the host a batch reaches. An admin's move or removal of
 * a device through one host's API changes who may write it on every host (the shared registry
 * document and `shared_device_owners`, written in one transaction), as registry.yaml's owners do.
 * pm-1 is registry.yaml's device of edge-1 (cloud-fixture.ts); edge-1's birth names it.
 */
describe('a device moved or removed through the admin API, on two hosts', { timeout: 180_000 }, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let root: string;
  const brokers = {} as Record<HostName, Mosquitto>;
  const hosts = {} as Record<HostName, RunningCloud>;
  /** edge → host → its connection to that host's broker and the acks it got there. */
  const edges: Record<string, Partial<Record<HostName, { client: MqttClient; acks: Ack[] }>>> = {};
  // Both edges at station s1: a move keeps the device's place.
  const registryYaml = stringify({
    ...REGISTRY,
    counties: [
      {
        ...REGISTRY.counties[0]!,
        towns: [
          {
            ...REGISTRY.counties[0]!.towns[0]!,
            villages: [
              {
                id: 'v1',
                name: '示例村',
                stations: [{ id: 's1', name: '村委会站', edges: ['edge-1', 'edge-2'] }],
              },
            ],
          },
        ],
      },
    ],
  });

  const startHost = async (name: HostName) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'registry.yaml'), registryYaml);
    const config = parseConfig(
      {
        dataDir: './data',
        registry: './registry.yaml',
        mqtt: {
          mode: 'external',
          url: brokers[name].ingestUrl,
          username: 'ingest',
          password: '${TEST_MOVES_INGEST_PASSWORD}',
          clientId: name,
        },
        sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' },
        store: { kind: 'postgres', url: postgres.url },
        http: { port: 0 },
        rules: { enabled: false }, // not this test's concern
        users: [
          { username: 'admin', passwordHash: hashPassword(ADMIN_PASSWORD), role: 'admin', name: '管理员' },
        ],
        log: { level: 'silent' },
      },
      dir,
    );
    hosts[name] = await startCloud(config, pino({ level: process.env.TEST_LOG ?? 'silent' }));
    // Every edge's birth on this host's broker (retained), seen by the host before any batch.
    for (const edge of ['edge-1', 'edge-2']) await connect(edge, name);
  };
  const stopHost = async (name: HostName) => {
    for (const e of Object.values(edges)) {
      await e[name]?.client.endAsync(true);
      e[name] = undefined;
    }
    await hosts[name].close();
  };

  async function connect(edge: string, host: HostName): Promise<void> {
    const client = mqtt.connect(brokers[host].url, {
      protocolVersion: 4,
      clientId: edge,
      username: edge,
      password: PASSWORDS[edge],
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    edges[edge] = { ...edges[edge], [host]: { client, acks: await collectAcks(client, edge) } };
    const birth: Status = {
      state: 'online',
      edgeId: edge,
      boot: 1,
      ts: T0,
      version: '0.1.0',
      devices:
        edge === 'edge-1'
          ? [
              {
                id: 'pm-1',
                kind: 'air-quality',
                driver: 'modbus',
                metrics: [{ name: 'pm25', unit: 'µg/m³' }],
              },
            ]
          : [],
    };
    const before = await counterValue(hosts[host].metrics.statusMessages, { state: 'online' });
    await client.publishAsync(topics.status(edge), Buffer.from(encodeJson(birth)), { qos: 1, retain: true });
    await waitFor(
      `${edge}'s birth on ${host}`,
      async () => (await counterValue(hosts[host].metrics.statusMessages, { state: 'online' })) > before,
    );
  }

  beforeAll(async () => {
    [postgres, influxd, brokers['host-a'], brokers['host-b']] = await Promise.all([
      startPostgres(),
      startInfluxd(['village']),
      ...HOSTS.map(() => startMosquitto({ ingest: INGEST_PASSWORD, ...PASSWORDS })),
    ]);
    root = mkdtempSync(join(tmpdir(), 'shared-device-moves-'));
    process.env.TEST_MOVES_INGEST_PASSWORD = INGEST_PASSWORD;
    for (const name of HOSTS) await startHost(name);
  }, 120_000);
  afterAll(async () => {
    for (const name of HOSTS) if (hosts[name]) await stopHost(name);
    for (const b of Object.values(brokers)) await b.dispose();
    await influxd?.dispose();
    await postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Seqs per edge, one sequence over both hosts (the dedupe is shared). */
  const seqs: Record<string, number> = { 'edge-1': 0, 'edge-2': 0 };
  /** Each batch its own minute: no batch's points overwrite another's. */
  const T = T0;
  let minute = 0;
  /** One batch of 3 pm-1 readings from `edge` through `host`, from `value` up; its ack's refused devices. */
  async function send(edge: string, host: HostName, value: number): Promise<string[]> {
    const seq = ++seqs[edge]!;
    const batch = makeBatch(edge, seq, 3, {}, T + ++minute * 60_000);
    batch.readings = batch.readings.map((r, i) => ({ ...r, value: value + i }));
    const { client, acks } = edges[edge]![host]!;
    await client.publishAsync(topics.batch(edge), Buffer.from(encodeBatch(batch)), { qos: 1 });
    await waitFor(`the ack of ${edge}'s seq ${seq} on ${host}`, () =>
      acks.some((a) => a.acked.includes(seq)),
    );
    return (acks.find((a) => a.acked.includes(seq))!.refused ?? []).map((r) => r.device);
  }
  /** pm-1's pm25 values in InfluxDB (this file's own influxd), sorted. */
  const stored = async () =>
    [...(await influxReadings(influxd, 'village')).points]
      .filter(([k]) => k.startsWith('pm-1|pm25|'))
      .map(([, v]) => v as number)
      .sort((a, b) => a - b);
  const block = (...starts: number[]) => starts.flatMap((v) => [v, v + 1, v + 2]);

  const cookies: Partial<Record<HostName, string>> = {};
  const admin = async (host: HostName, method: string, path: string, body?: unknown) => {
    const base = `http://127.0.0.1:${hosts[host].httpPort}`;
    if (cookies[host] === undefined) {
      const res = await fetch(`${base}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      });
      expect(res.status).toBe(200);
      cookies[host] = res.headers.get('set-cookie')!.split(';')[0]!;
    }
    const res = await fetch(`${base}/api/v1/admin${path}`, {
      method,
      headers: {
        cookie: cookies[host]!,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** The edge `host`'s copy of the registry names for pm-1 (undefined: not there). */
  const ownerOn = async (host: HostName) => {
    const r = await admin(host, 'GET', '/devices/pm-1');
    return r.status === 200 ? (r.body.device as { edge: string }).edge : undefined;
  };
  /** A change through one host reaching the other: the 1 s registry poll, with room for a slow box. */
  const POLL_BOUND = { timeoutMs: 8_000, intervalMs: 50 };

  it("moved to edge-2 through A: edge-2's batch through B is stored, edge-1's refused, on both hosts", async () => {
    // As registry.yaml has it: edge-1's (and each host knows it, so no claim is asked).
    expect(await send('edge-1', 'host-b', 100)).toEqual([]);
    expect(await send('edge-2', 'host-a', 200)).toEqual(['pm-1']);
    expect(await send('edge-2', 'host-b', 210)).toEqual(['pm-1']);
    expect(await stored()).toEqual(block(100));

    const moved = await admin('host-a', 'PATCH', '/devices/pm-1', { edge: 'edge-2' });
    expect(moved.status).toBe(200);
    await waitFor(
      "host B's registry to name edge-2",
      async () => (await ownerOn('host-b')) === 'edge-2',
      POLL_BOUND,
    );

    expect(await send('edge-2', 'host-b', 300)).toEqual([]);
    expect(await send('edge-2', 'host-a', 310)).toEqual([]);
    expect(await send('edge-1', 'host-b', 400)).toEqual(['pm-1']);
    expect(await send('edge-1', 'host-a', 410)).toEqual(['pm-1']);
    expect(await stored()).toEqual(block(100, 300, 310));
  });

  it("removed through A while B is down: the first edge to send it takes it, and B's start (its registry.yaml and edge-1's birth name edge-1) keeps that", async () => {
    await stopHost('host-b');
    expect((await admin('host-a', 'DELETE', '/devices/pm-1')).status).toBe(200);
    expect(await send('edge-2', 'host-a', 500)).toEqual([]);
    await startHost('host-b');
    expect(await ownerOn('host-b')).toBeUndefined();
    expect(await send('edge-2', 'host-b', 510)).toEqual([]);
    expect(await send('edge-1', 'host-b', 600)).toEqual(['pm-1']);
    expect(await send('edge-1', 'host-a', 610)).toEqual(['pm-1']);
    expect(await stored()).toEqual(block(100, 300, 310, 500, 510));
  });

  it('named again through B and A at once, for different edges: both hosts take the one written last, and so do the owners', async () => {
    const device = (edge: string) => ({ id: 'pm-1', edge, kind: 'air-quality', driver: 'modbus' });
    const [viaA, viaB] = await Promise.all([
      admin('host-a', 'POST', '/devices', device('edge-1')),
      admin('host-b', 'POST', '/devices', device('edge-2')),
    ]);
    // The second writer finds the device there already, or both went through, one after the other.
    expect([viaA.status, viaB.status]).toContain(201);
    let owner: string | undefined;
    await waitFor(
      'both hosts to name one edge for pm-1',
      async () => {
        const [a, b] = [await ownerOn('host-a'), await ownerOn('host-b')];
        owner = a;
        return a !== undefined && a === b;
      },
      POLL_BOUND,
    );
    const other = owner === 'edge-1' ? 'edge-2' : 'edge-1';
    const before = await stored();
    expect(await send(owner!, 'host-a', 700)).toEqual([]);
    expect(await send(owner!, 'host-b', 710)).toEqual([]);
    expect(await send(other, 'host-a', 800)).toEqual(['pm-1']);
    expect(await send(other, 'host-b', 810)).toEqual(['pm-1']);
    expect(await stored()).toEqual([...before, ...block(700, 710)]);
  });
});
