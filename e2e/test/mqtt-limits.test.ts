import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { fetchMetrics, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_PASSWORDS, TWO_VILLAGES, twoEdgeCredentials } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

/** Issue 13, finding 7: the embedded broker's connection limits, against the built village-cloud. */

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

const metricOf = async (v: Village, series: string) =>
  (await fetchMetrics(`http://127.0.0.1:${v.httpPort}/metrics`)).get(series) ?? 0;

interface Raw {
  socket: Socket;
  closed: Promise<void>;
  isClosed(): boolean;
}

/** A raw socket to the broker that knows when it was closed (errors from writing into a closed one ignored). */
const rawSocket = (port: number) =>
  new Promise<Raw>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let gone = false;
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        gone = true;
        r();
      }),
    );
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({ socket, closed, isClosed: () => gone });
    });
  });

/** The start of an MQTT 3.1.1 CONNECT whose remaining length says 1 MiB, then 1 MiB - 1 bytes of it. */
function halfOpenConnect(socket: Socket): void {
  const size = 1024 * 1024;
  // Remaining length 1 MiB as an MQTT variable byte integer.
  const header = Buffer.from([0x10, 0x80, 0x80, 0x40]);
  const body = Buffer.alloc(size - 1, 0x61);
  Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 30]).copy(body);
  socket.write(Buffer.concat([header, body]));
}

const connectEdge1 = (port: number, clientId: string) =>
  new Promise<{ client: mqtt.MqttClient; code: number | undefined }>((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      clientId,
      username: 'edge-1',
      password: EDGE_PASSWORDS['edge-1'],
      reconnectPeriod: 0,
      connectTimeout: 30_000,
    });
    client.once('connect', () => resolve({ client, code: 0 }));
    client.once('error', (err) => resolve({ client, code: (err as { code?: number }).code }));
    // Closed without a CONNACK (e.g. by the CONNECT deadline while the password checks queue up).
    client.once('close', () => resolve({ client, code: undefined }));
  });

describe('embedded broker limits with the default config', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('mqtt-limits', {
      cloud: { edges: twoEdgeCredentials() },
      registry: TWO_VILLAGES,
      edgePassword: EDGE_PASSWORDS['edge-1'],
    });
    await v.startCloud();
  });
  afterAll(() => v.cleanup());

  it('150 half-open 1 MiB CONNECTs are closed at their header and add no ~150 MB of RSS', async () => {
    const pid = v.cloud!.child.pid!;
    const before = rssBytes(pid);
    const sockets = await Promise.all(Array.from({ length: 150 }, () => rawSocket(v.mqttPort)));
    for (const s of sockets) halfOpenConnect(s.socket);
    let peak = before;
    await waitFor(
      'the broker to close all 150 sockets',
      () => {
        peak = Math.max(peak, rssBytes(pid));
        return sockets.every((s) => s.isClosed());
      },
      { timeoutMs: 10_000 },
    );
    expect(peak - before).toBeLessThan(40 * 1024 * 1024);
    expect(await metricOf(v, 'cloud_mqtt_limit_refusals_total{limit="connect_bytes"}')).toBe(150);
  });

  it('one edge credential gets 4 sessions, not 150; cloud_connected_edges counts edges, not sockets', async () => {
    const tries = await Promise.all(
      Array.from({ length: 150 }, (_, i) => connectEdge1(v.mqttPort, `tool-${i}`)),
    );
    const accepted = tries.filter((t) => t.code === 0);
    expect(accepted.length).toBe(4);
    // Refused with CONNACK 3 (server unavailable) once 4 are held; on a busy machine a few may meet
    // the CONNECT deadline first while their password checks queue up: both are counted.
    expect(tries.filter((t) => t.code === 3 || t.code === undefined).length).toBe(146);
    const bySessions = await metricOf(v, 'cloud_mqtt_limit_refusals_total{limit="sessions_per_edge"}');
    const byDeadline = await metricOf(v, 'cloud_mqtt_limit_refusals_total{limit="connect_deadline"}');
    expect(bySessions).toBeGreaterThan(0);
    expect(bySessions + byDeadline).toBe(146);
    await waitFor('all 4 sessions ready', async () => (await metricOf(v, 'cloud_connected_edges')) >= 1);
    expect(await metricOf(v, 'cloud_connected_edges')).toBe(1);
    // A session of its own name still takes over its old one instead of counting against the limit.
    const again = await connectEdge1(v.mqttPort, 'tool-0');
    expect(again.code).toBe(0);
    await Promise.all(tries.map((t) => t.client.endAsync(true)));
    await again.client.endAsync(true);
    await waitFor('no edge connected', async () => (await metricOf(v, 'cloud_connected_edges')) === 0);
  });
});

describe('embedded broker limits, configured', () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('mqtt-limits-set', {
      cloud: {
        edges: twoEdgeCredentials(),
        mqtt: { host: '127.0.0.1', port: 0, limits: { maxConnections: 20, connectDeadlineMs: 1_000 } },
      },
      registry: TWO_VILLAGES,
      edgePassword: EDGE_PASSWORDS['edge-1'],
    });
    const cloud = await v.startCloud();
    const ready = await cloud.line((l) => l.msg === 'cloud ready');
    (v as { mqttPort: number }).mqttPort = ready.mqttPort as number;
  });
  afterAll(() => v.cleanup());

  it('closes a socket that has not completed CONNECT within mqtt.limits.connectDeadlineMs', async () => {
    const silent = await rawSocket(v.mqttPort);
    const partial = await rawSocket(v.mqttPort);
    partial.socket.write(Buffer.from([0x10, 0x20, 0x00])); // a CONNECT that never finishes
    await waitFor('both sockets closed by the broker', () => silent.isClosed() && partial.isClosed(), {
      timeoutMs: 8_000,
    });
    expect(await metricOf(v, 'cloud_mqtt_limit_refusals_total{limit="connect_deadline"}')).toBe(2);
  });

  it('refuses sockets over mqtt.limits.maxConnections, and serves an edge once they are gone', async () => {
    const sockets = await Promise.all(Array.from({ length: 25 }, () => rawSocket(v.mqttPort)));
    await waitFor(
      '5 sockets refused',
      async () => (await metricOf(v, 'cloud_mqtt_limit_refusals_total{limit="connections"}')) === 5,
    );
    for (const s of sockets) s.socket.destroy();
    await Promise.all(sockets.map((s) => s.closed));
    const edge = await waitFor('an edge connects again', async () => {
      const t = await connectEdge1(v.mqttPort, 'edge-edge-1');
      if (t.code !== 0) t.client.end(true);
      return t.code === 0 ? t.client : undefined;
    });
    await edge.endAsync();
  });
});
