import { type Ack, type Batch, decodeAck, encodeBatch, topics } from '@village/protocol';
import { fetchMetrics, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_PASSWORDS, TWO_VILLAGES, twoEdgeCredentials } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

/** Issue 13, finding 2: an edge may write only its own devices' data. */
describe('device ownership at ingest', () => {
  let v: Village;
  const clients: MqttClient[] = [];

  const connect = async (edgeId: 'edge-1' | 'edge-2', clientId: string) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${v.mqttPort}`, {
      protocolVersion: 4,
      clientId,
      username: edgeId,
      password: EDGE_PASSWORDS[edgeId],
      reconnectPeriod: 0,
    });
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    const acks: Ack[] = [];
    c.on('message', (topic, payload) => {
      if (topic === topics.ack(edgeId)) acks.push(decodeAck(payload));
    });
    await c.subscribeAsync(topics.ack(edgeId), { qos: 1 });
    return { c, acks };
  };
  const batch = (edgeId: string, seq: number, readings: Batch['readings'], events: Batch['events'] = []) =>
    Buffer.from(
      encodeBatch({ edgeId, seq, boot: 1, createdAt: Date.now(), historical: false, readings, events }),
    );
  const storedValue = (device: string, ts: number) =>
    v.query<{ value: number; village: string }>(
      'SELECT r.value, s.village FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = ? AND r.ts = ?',
      device,
      ts,
    )[0];
  const cloudMetric = async (name: string) =>
    (await fetchMetrics(`http://127.0.0.1:${v.httpPort}/metrics`)).get(name) ?? 0;

  beforeAll(async () => {
    v = await createVillage('ownership', {
      cloud: { edges: twoEdgeCredentials() },
      registry: TWO_VILLAGES,
      edgePassword: EDGE_PASSWORDS['edge-1'],
    });
    await v.startCloud();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await v.cleanup();
  });

  const T = Date.now() - 60_000;

  it("refuses the real edge-1's readings for edge-2's device, keeps its own, and the edge drains without resending", async () => {
    const edge2 = await connect('edge-2', 'edge-edge-2');
    edge2.c.publish(
      topics.batch('edge-2'),
      batch('edge-2', 1, [
        { device: 'dev-2', metric: 'pm25', value: 42, unit: 'µg/m³', ts: T, quality: 'good' },
      ]),
      { qos: 1 },
    );
    await waitFor('edge-2 ack', () => edge2.acks.some((a) => a.acked.includes(1)));

    // The real village-edge as edge-1, whose fake driver (mis)names dev-1 and dev-2.
    await v.startEdge({ devices: 2, intervalMs: 50, limit: 40, metrics: [{ name: 'pm25', unit: 'µg/m³' }] });
    await waitFor('edge-1 outbox drained', async () => {
      const m = await v.edgeMetrics();
      return (
        m.get('edge_readings_accepted_total') === 40 &&
        m.get('edge_outbox_depth_readings') === 0 &&
        m.get('edge_outbox_batches') === 0
      );
    });
    // dev-1 is new, so it became edge-1's; dev-2 stays edge-2's with only edge-2's point stored.
    const own = v.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'dev-1'",
    )[0]!;
    expect(own.n).toBe(20);
    expect(
      v.query(
        "SELECT r.ts FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device = 'dev-2' AND r.ts <> ?",
        T,
      ),
    ).toEqual([]);
    expect(storedValue('dev-2', T)).toEqual({ value: 42, village: 'v2' });
    const devices = (await v.api<{ devices: { id: string; edge: string }[] }>('/api/v1/devices')).body
      .devices;
    expect(devices.find((d) => d.id === 'dev-2')?.edge).toBe('edge-2');
    expect(devices.find((d) => d.id === 'dev-1')?.edge).toBe('edge-1');
    const m = await v.edgeMetrics();
    expect(m.get('edge_devices_refused_total{reason="not_owner"}')).toBeGreaterThan(0);
    expect(m.get('edge_batches_rejected_total')).toBe(0);
    expect(
      v.edge!.lines.some((l) => l.msg === 'cloud refused the points of a device' && l.device === 'dev-2'),
    ).toBe(true);
    expect(await cloudMetric('cloud_points_refused_total{edge="edge-1",kind="reading"}')).toBe(20);
    expect(await cloudMetric('cloud_points_refused_total{edge="edge-1",kind="birth"}')).toBeGreaterThan(0);
    expect(v.cloud!.lines.some((l) => l.msg === 'points for devices of another edge refused')).toBe(true);
  });

  it("edge-1's overwrite of edge-2's point and sos for v2's wristband are refused; its own sos opens an incident", async () => {
    const attacker = await connect('edge-1', 'attacker');
    const now = Date.now();
    attacker.c.publish(
      topics.batch('edge-1'),
      batch(
        'edge-1',
        1_000_000,
        [
          { device: 'dev-2', metric: 'pm25', value: 999, unit: 'µg/m³', ts: T, quality: 'good' },
          { device: 'wb-1', metric: 'heart_rate', value: 70, unit: 'bpm', ts: now, quality: 'good' },
        ],
        [
          { device: 'wb-2', type: 'sos', severity: 'critical', ts: now, data: {} },
          { device: 'wb-1', type: 'sos', severity: 'critical', ts: now, data: {} },
        ],
      ),
      { qos: 1 },
    );
    const ack = await waitFor('ack of the mixed batch', () =>
      attacker.acks.find((a) => a.acked.includes(1_000_000)),
    );
    // The rules saw the batch: p1's sos opened an incident. None names p2 or wb-2.
    type Incident = { village: string; people: string[]; devices: string[] };
    const incidents = await waitFor('an incident for p1', async () => {
      const list = (await v.api<{ incidents: Incident[] }>('/api/v1/incidents')).body.incidents;
      return list.some((i) => i.people.includes('p1')) ? list : undefined;
    });
    expect(incidents.filter((i) => i.people.includes('p2') || i.devices.includes('wb-2'))).toEqual([]);
    expect(v.query("SELECT device FROM events WHERE type = 'sos'")).toEqual([{ device: 'wb-1' }]);
    expect(storedValue('dev-2', T)).toEqual({ value: 42, village: 'v2' });
    expect(storedValue('wb-1', now)).toEqual({ value: 70, village: 'v1' });
    expect(ack.rejected).toEqual([]);
    expect(ack.refused?.map((r) => r.device).sort()).toEqual(['dev-2', 'wb-2']);
    expect(ack.refused?.every((r) => r.seq === 1_000_000 && r.reason.startsWith('not_owner'))).toBe(true);
    expect(await cloudMetric('cloud_points_refused_total{edge="edge-1",kind="event"}')).toBe(1);
  });
});
