import { topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe } from '../src/broker/edge-acl.js';
import { type TestCloud, counterValue, makeBatch, publishBatch, startTestCloud } from './cloud-fixture.js';

describe('edge topic ACL (pure)', () => {
  it('lets an edge publish only under its own up/', () => {
    expect(mayPublish('edge-1', 'v1/e/edge-1/up/batch')).toBe(true);
    expect(mayPublish('edge-1', 'v1/e/edge-1/up/status')).toBe(true);
    expect(mayPublish('edge-1', 'v1/e/edge-1/up/cmd-result')).toBe(true);
    expect(mayPublish('edge-1', 'v1/e/edge-2/up/batch')).toBe(false);
    expect(mayPublish('edge-1', 'v1/e/edge-1/down/ack')).toBe(false);
    expect(mayPublish('edge-1', 'v1/e/edge-1/up/other')).toBe(false);
    expect(mayPublish('edge-1', '$SYS/x')).toBe(false);
  });
  it('lets an edge subscribe only to its own down/', () => {
    expect(maySubscribe('edge-1', 'v1/e/edge-1/down/#')).toBe(true);
    expect(maySubscribe('edge-1', 'v1/e/edge-1/down/+')).toBe(true);
    expect(maySubscribe('edge-1', 'v1/e/edge-1/down/ack')).toBe(true);
    expect(maySubscribe('edge-1', 'v1/e/edge-2/down/#')).toBe(false);
    expect(maySubscribe('edge-1', 'v1/e/+/down/ack')).toBe(false);
    expect(maySubscribe('edge-1', '#')).toBe(false);
    expect(maySubscribe('edge-1', 'v1/e/edge-1/up/batch')).toBe(false);
  });
});

describe('embedded broker authentication and ACL', { timeout: 60_000 }, () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(async () => {
    await t.stop();
  });

  const connectError = (opts: mqtt.IClientOptions) =>
    new Promise<Error & { code?: number }>((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 20_000,
        ...opts,
      });
      c.once('connect', () => {
        c.end(true);
        reject(new Error('connected, but should have been refused'));
      });
      c.once('error', (err) => {
        c.end(true);
        resolve(err);
      });
    });

  it('refuses a wrong password, an unknown edge and missing credentials with CONNACK 4', async () => {
    const before = await counterValue(t.cloud.metrics.authFailures);
    expect((await connectError({ username: 'edge-1', password: 'wrong' })).code).toBe(4);
    expect((await connectError({ username: 'edge-9', password: 'pw-edge-1' })).code).toBe(4);
    expect((await connectError({})).code).toBe(4);
    expect(
      await counterValue(t.cloud.metrics.authFailures, { reason: 'bad_password' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counterValue(t.cloud.metrics.authFailures, { reason: 'unknown_edge' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await counterValue(t.cloud.metrics.authFailures)).toBe(before + 3);
    expect(t.logs.some((l) => l.msg === 'mqtt connection refused' && l.reason === 'bad_password')).toBe(true);
  });

  it("refuses at CONNECT a last will aimed at another edge's topic (CONNACK 5)", async () => {
    const err = await connectError({
      username: 'edge-1',
      password: 'pw-edge-1',
      will: { topic: topics.status('edge-2'), payload: Buffer.from('{}'), qos: 1, retain: true },
    });
    expect(err.code).toBe(5);
    expect(await counterValue(t.cloud.metrics.aclRefusals, { action: 'will' })).toBe(1);
  });

  it('accepts a will on its own status topic', async () => {
    const c = await t.connectEdge('edge-1', {
      will: { topic: topics.status('edge-1'), payload: Buffer.from('{}'), qos: 1, retain: true },
    });
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it("keeps another edge's session when an edge borrows its client id (ids are derived from the username)", async () => {
    const holder = await t.connectEdge('edge-2', { clientId: 'edge-edge-2' });
    const borrower = await t.connectEdge('edge-1', { clientId: 'edge-edge-2' });
    expect(borrower.connected).toBe(true);
    const ids = Object.keys((t.cloud.aedes as unknown as { clients: Record<string, unknown> }).clients);
    expect(ids).toEqual(expect.arrayContaining(['edge-edge-2', 'edge-edge-1/edge-edge-2']));
    expect(holder.connected).toBe(true);
    await borrower.endAsync();
    await holder.endAsync();
  });

  it("disconnects an edge publishing on another edge's topic and ingests nothing", async () => {
    const before = await counterValue(t.cloud.metrics.aclRefusals, { action: 'publish' });
    const c = await t.connectEdge('edge-1');
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish(topics.batch('edge-2'), Buffer.from(makeBatch('edge-2', 1, 1).readings.length.toString()), {
      qos: 1,
    });
    await closed;
    expect(await counterValue(t.cloud.metrics.aclRefusals, { action: 'publish' })).toBe(before + 1);
    expect(
      t.logs.some((l) => l.msg === 'mqtt publish refused by ACL' && l.topic === topics.batch('edge-2')),
    ).toBe(true);
    expect(await counterValue(t.cloud.metrics.batches)).toBe(0);
    c.end(true);
  });

  it("grants QoS 128 to a subscription on another edge's down topic", async () => {
    const c = await t.connectEdge('edge-1');
    // The raw SUBACK, as the broker sent it (mqtt.js maps it into its own structures).
    const suback = new Promise<number[]>((resolve) =>
      c.on('packetreceive', (p) => {
        if (p.cmd === 'suback') resolve(p.granted as number[]);
      }),
    );
    c.subscribe([topics.ack('edge-2'), topics.downFilter('edge-1')], { qos: 1 }, () => {});
    const granted = await suback;
    expect(granted).toEqual([128, 1]);
    expect(await counterValue(t.cloud.metrics.aclRefusals, { action: 'subscribe' })).toBe(1);
    await c.endAsync();
  });

  it('closes a connection that sends a packet over mqtt.maxPacketBytes, and serves the next one', async () => {
    const c = await t.connectEdge('edge-1');
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish(topics.batch('edge-1'), Buffer.alloc(3 * 1024 * 1024), { qos: 1 });
    await closed;
    await waitFor('too-large count', async () => (await counterValue(t.cloud.metrics.packetsTooLarge)) === 1);
    c.end(true);
    const next = await t.connectEdge('edge-1');
    await publishBatch(next, 'edge-1', makeBatch('edge-1', 1, 2));
    await waitFor(
      'the batch committed',
      async () => (await counterValue(t.cloud.metrics.batches, { result: 'committed' })) === 1,
    );
    await next.endAsync();
  });
});
