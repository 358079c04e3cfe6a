import { type Ack, type Status, encodeBatch, encodeJson, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, type TestCloud, collectAcks, counterValue, makeBatch, startTestCloud } from './cloud-fixture.js';

/**
 * One host (embedded broker, SQLite, no `store:`): a device an admin moves to another edge, or
 * removes, through the admin API changes who may write it at once, and keeps the change across a
 * restart with the unchanged registry.yaml (which still names the old edge). pm-1 is registry.yaml's
 * device of edge-1 (cloud-fixture.ts), and edge-1's birth names it, as a real edge's does.
 */
describe('an admin moves or removes a device through the API (one host)', { timeout: 60_000 }, () => {
  let t: TestCloud;
  const edges: Record<string, { client: MqttClient; acks: Ack[] }> = {};
  let seq = 0;
  beforeAll(async () => {
    t = await startTestCloud();
    for (const id of ['edge-1', 'edge-2']) await connect(id);
  });
  afterAll(async () => {
    for (const e of Object.values(edges)) await e.client.endAsync(true);
    await t?.stop();
  });

  async function connect(id: string): Promise<void> {
    const client = await t.connectEdge(id);
    edges[id] = { client, acks: await collectAcks(client, id) };
    // edge-1's inventory names pm-1 (a birth must not make the admin's device a learned one).
    const birth: Status = {
      state: 'online',
      edgeId: id,
      boot: 1,
      ts: T0,
      version: '0.1.0',
      devices:
        id === 'edge-1'
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
    const applied = await counterValue(t.cloud.metrics.statusMessages, { state: 'online' });
    await client.publishAsync(topics.status(id), Buffer.from(encodeJson(birth)), { qos: 1, retain: true });
    await waitFor(
      `${id}'s birth`,
      async () => (await counterValue(t.cloud.metrics.statusMessages, { state: 'online' })) > applied,
    );
  }
  /** One batch of pm-1 from `edge` (3 readings from `value`); its ack's refused devices. */
  async function send(edge: string, value: number): Promise<string[]> {
    seq++;
    const batch = makeBatch(edge, seq, 3, {}, T0 + seq * 60_000);
    batch.readings = batch.readings.map((r, i) => ({ ...r, value: value + i }));
    const { client, acks } = edges[edge]!;
    await client.publishAsync(topics.batch(edge), Buffer.from(encodeBatch(batch)), { qos: 1 });
    const mine = seq;
    await waitFor(`the ack of ${edge}'s seq ${mine}`, () => acks.some((a) => a.acked.includes(mine)));
    return (acks.find((a) => a.acked.includes(mine))!.refused ?? []).map((r) => r.device);
  }
  /** pm-1's stored pm25 values, sorted. */
  const stored = () =>
    (
      t.cloud.db
        .prepare(
          `SELECT r.value FROM readings r JOIN series s ON s.id = r.series_id
            WHERE s.device = 'pm-1' AND s.metric = 'pm25'`,
        )
        .all() as { value: number }[]
    )
      .map((r) => r.value)
      .sort((a, b) => a - b);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${t.cloud.httpPort}/api/v1/admin${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("moved to edge-2: edge-2's readings of it are stored, edge-1's refused, also after a restart", async () => {
    expect(await send('edge-1', 100)).toEqual([]);
    expect(await send('edge-2', 200)).toEqual(['pm-1']);
    expect(stored()).toEqual([100, 101, 102]);

    const moved = await admin('PATCH', '/devices/pm-1', { edge: 'edge-2' });
    expect(moved.status).toBe(200);
    expect(moved.body.device).toMatchObject({ id: 'pm-1', edge: 'edge-2' });
    expect(await send('edge-2', 300)).toEqual([]);
    expect(await send('edge-1', 400)).toEqual(['pm-1']);
    expect(stored()).toEqual([100, 101, 102, 300, 301, 302]);

    // registry.yaml still names edge-1 and did not change: the restart keeps the admin's move.
    for (const e of Object.values(edges)) await e.client.endAsync(true);
    await t.restart();
    for (const id of ['edge-1', 'edge-2']) await connect(id);
    expect((await admin('GET', '/devices/pm-1')).body.device).toMatchObject({ edge: 'edge-2' });
    expect(await send('edge-1', 500)).toEqual(['pm-1']);
    expect(await send('edge-2', 600)).toEqual([]);
    expect(stored()).toEqual([100, 101, 102, 300, 301, 302, 600, 601, 602]);
  });

  it('removed: the device has no owner, and the first edge to send it takes it, as a device never named', async () => {
    expect((await admin('DELETE', '/devices/pm-1')).status).toBe(200);
    expect((await admin('GET', '/devices/pm-1')).status).toBe(404);
    expect(await send('edge-1', 700)).toEqual([]);
    expect(await send('edge-2', 800)).toEqual(['pm-1']);
    expect(stored()).toEqual([100, 101, 102, 300, 301, 302, 600, 601, 602, 700, 701, 702]);
  });
});
