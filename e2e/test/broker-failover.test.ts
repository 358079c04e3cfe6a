import { decodeBatch, encodeAck, parseTopic, topics } from '@village/protocol';
import { type Mosquitto, freePort, startMosquitto, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/**
 * An edge with two brokers in `cloud.urls` (two real Mosquittos with the shipped config and ACL)
 * and a real village-edge. No cloud: the test is the ingest, with the ingest account on each
 * broker's ingest listener, acking every batch on the broker it came from (as every ingest host
 * does). Broker A is SIGKILLed mid-stream, later B: the edge must move each time, resend its
 * window there, and every batch it cut must arrive and be acked, no seq missing.
 */
const PASSWORDS = { 'edge-1': 'pw-edge-1-failover', ingest: 'pw-ingest-failover' };
/** 20 devices × 2 metrics every 50 ms: about 800 readings/s, for about 30 s, so data flows through every phase. */
const LIMIT = 24_000;
/** How long a failover may take: a lost TCP session is seen at once, the next broker is dialled after one backoff. */
const FAILOVER_MS = 15_000;
const WINDOW = 8;
/** Far beyond the test: a batch resent within it was resent for the failover, not for a timeout. */
const ACK_TIMEOUT_MS = 600_000;

interface Acker {
  client: MqttClient;
  /** True once this session's subscription is granted; false from the moment the broker is lost. */
  subscribed: boolean;
  /** While true, batches are taken but not acked: the edge's window fills up in flight on this broker. */
  hold: boolean;
  /** seq → readings, for each batch this broker delivered (resends counted once). */
  received: Map<number, number>;
  acked: Set<number>;
}

/** The ingest's side on one broker: every batch that arrives is acked there, naming its seq and epoch. */
async function startAcker(broker: Mosquitto, name: string): Promise<Acker> {
  const a: Acker = {
    client: await mqtt.connectAsync(broker.ingestUrl, {
      username: 'ingest',
      password: PASSWORDS.ingest,
      clientId: `test-ingest-${name}`,
      protocolVersion: 5,
      // Back within a backoff once the broker is restarted, subscribing again below.
      reconnectPeriod: 100,
      resubscribe: false,
    }),
    subscribed: false,
    hold: false,
    received: new Map(),
    acked: new Set(),
  };
  a.client.on('message', (topic, payload) => {
    const batch = decodeBatch(payload);
    const edgeId = parseTopic(topic).edgeId;
    a.received.set(batch.seq, batch.readings.length);
    if (a.hold) return;
    const ack = encodeAck({ acked: [batch.seq], rejected: [], epoch: batch.epoch });
    a.client.publish(topics.ack(edgeId), Buffer.from(ack), { qos: 1 }, (err) => {
      if (!err) a.acked.add(batch.seq);
    });
  });
  const subscribe = async () => {
    await a.client.subscribeAsync('v1/e/+/up/batch', { qos: 1 });
    a.subscribed = true;
  };
  a.client.on('connect', () => void subscribe().catch(() => {}));
  a.client.on('close', () => {
    a.subscribed = false;
  });
  await subscribe();
  return a;
}

const failedOver = (l: Record<string, unknown>) =>
  typeof l.msg === 'string' && l.msg.startsWith('uplink failed over');

describe('an edge with two brokers fails over between them', () => {
  let brokerA: Mosquitto;
  let brokerB: Mosquitto;
  let ackerA: Acker;
  let ackerB: Acker;
  let v: Village;
  beforeAll(async () => {
    [brokerA, brokerB] = await Promise.all([startMosquitto(PASSWORDS), startMosquitto(PASSWORDS)]);
    [ackerA, ackerB] = await Promise.all([startAcker(brokerA, 'a'), startAcker(brokerB, 'b')]);
    v = await createVillage('broker-failover', { edgePassword: PASSWORDS['edge-1'] });
  });
  afterAll(async () => {
    await v?.cleanup();
    await Promise.all([ackerA?.client.endAsync(true), ackerB?.client.endAsync(true)]);
    await Promise.all([brokerA?.dispose(), brokerB?.dispose()]);
  });

  const health = async () =>
    (await (await fetch(`http://127.0.0.1:${v.healthPort}/health`)).json()) as {
      uplink: { broker: string | null; brokers: string[] };
    };
  const onBroker = (b: Mosquitto) =>
    waitFor(`the edge on ${b.url}`, async () => (await health()).uplink.broker === b.url, {
      timeoutMs: FAILOVER_MS,
      intervalMs: 50,
    });

  /** Holds acks on `a` until the edge's whole window is in flight there; returns those seqs. */
  async function fillWindow(a: Acker): Promise<number[]> {
    a.hold = true;
    await waitFor('the window in flight, unacked', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_uplink_inflight_batches') === WINDOW;
    });
    return [...a.received.keys()].filter((seq) => !a.acked.has(seq));
  }

  it('moves to B when A is killed and back to A when B is, resending its window there, losing no batch', async () => {
    await v.startEdge(
      { devices: 20, intervalMs: 50, limit: LIMIT },
      { batchMaxReadings: 200 },
      {
        url: undefined,
        urls: [brokerA.url, brokerB.url],
        window: WINDOW,
        ackTimeoutMs: ACK_TIMEOUT_MS,
        ackTimeoutMaxMs: ACK_TIMEOUT_MS,
      },
    );
    await waitFor('batches acked through A', () => ackerA.acked.size >= 10);
    expect((await health()).uplink).toMatchObject({
      broker: brokerA.url,
      brokers: [brokerA.url, brokerB.url],
    });

    // A is lost mid-stream with a full window in flight there: no DISCONNECT, no will.
    const heldOnA = await fillWindow(ackerA);
    expect(heldOnA.length).toBeGreaterThanOrEqual(WINDOW);
    const killedA = Date.now();
    await brokerA.kill();
    ackerA.hold = false;
    // The window A never acked is resent on B at once (the ack timeout is far away), and acked there.
    await waitFor(
      'the window A held resent and acked on B',
      () => heldOnA.every((seq) => ackerB.acked.has(seq)),
      { timeoutMs: FAILOVER_MS, intervalMs: 20 },
    );
    const failoverMs = Date.now() - killedA;
    await onBroker(brokerB);
    await v.edge!.line((l) => failedOver(l) && l.from === brokerA.url && l.to === brokerB.url, FAILOVER_MS);
    const lastOnA = Math.max(...ackerA.received.keys());
    await waitFor(
      'new batches acked through B',
      () => [...ackerB.acked].filter((seq) => seq > lastOnA).length >= 5,
    );

    // A comes back (same port), then B is lost with its window in flight: the edge moves back to A.
    await brokerA.restart();
    await waitFor('the test ingest subscribed on A again', () => ackerA.subscribed);
    const heldOnB = await fillWindow(ackerB);
    const killedB = Date.now();
    await brokerB.kill();
    await waitFor(
      'the window B held resent and acked on A',
      () => heldOnB.every((seq) => ackerA.acked.has(seq)),
      { timeoutMs: FAILOVER_MS, intervalMs: 20 },
    );
    const failbackMs = Date.now() - killedB;
    await onBroker(brokerA);
    await v.edge!.line((l) => failedOver(l) && l.from === brokerB.url && l.to === brokerA.url, FAILOVER_MS);
    const lastOnB = Math.max(...ackerB.received.keys());

    await waitFor(
      'every reading accepted and every batch acked',
      async () => {
        const m = await v.edgeMetrics();
        return (
          m.get('edge_readings_accepted_total') === LIMIT &&
          m.get('edge_outbox_depth_readings') === 0 &&
          m.get('edge_outbox_batches') === 0
        );
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const received = new Map([...ackerA.received, ...ackerB.received]);
    const acked = new Set([...ackerA.acked, ...ackerB.acked]);
    // The broker's PUBACK of the last ack may reach the test a moment after the edge took the ack.
    await waitFor('the test ingest to see its acks taken', () =>
      [...received.keys()].every((seq) => ackerA.acked.has(seq) || ackerB.acked.has(seq)),
    );
    for (const seq of [...ackerA.acked, ...ackerB.acked]) acked.add(seq);
    const seqs = [...received.keys()].sort((x, y) => x - y);
    const m = await v.edgeMetrics();
    console.log(
      JSON.stringify({
        brokerFailover: {
          failoverMs,
          failbackMs,
          batches: seqs.length,
          onA: ackerA.received.size,
          onB: ackerB.received.size,
          edgeRetries: m.get('edge_batches_retried_total'),
        },
      }),
    );
    // Every seq from 1 to the last, none missing; each one acked; the readings are all there.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect([...acked].sort((x, y) => x - y)).toEqual(seqs);
    expect([...received.values()].reduce((a, n) => a + n, 0)).toBe(LIMIT);
    // A carried batches cut after B was lost; no batch was resent for a timeout, only for a failover.
    expect(seqs.some((seq) => seq > lastOnB && ackerA.received.has(seq))).toBe(true);
    expect(m.get('edge_batches_retried_total')).toBe(0);
    expect(m.get('edge_uplink_failovers_total')).toBe(2);
    expect(m.get(`edge_uplink_broker{url="${brokerA.url}"}`)).toBe(1);
    expect(m.get(`edge_uplink_broker{url="${brokerB.url}"}`)).toBe(0);
  }, 240_000);
});

describe('an edge whose first broker is down when it starts', () => {
  let broker: Mosquitto;
  let acker: Acker;
  let v: Village;
  beforeAll(async () => {
    broker = await startMosquitto(PASSWORDS);
    acker = await startAcker(broker, 'only');
    v = await createVillage('broker-first-down', { edgePassword: PASSWORDS['edge-1'] });
  });
  afterAll(async () => {
    await v?.cleanup();
    await acker?.client.endAsync(true);
    await broker?.dispose();
  });

  it('goes on to the next broker and delivers everything there', async () => {
    // Nothing listens on this port: every connect to it is refused.
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const limit = 2_000;
    await v.startEdge(
      { devices: 10, intervalMs: 20, limit },
      { batchMaxReadings: 200 },
      { url: undefined, urls: [dead, broker.url] },
    );
    await waitFor(
      'every reading acked through the second broker',
      async () => {
        const m = await v.edgeMetrics();
        return (
          m.get('edge_readings_accepted_total') === limit &&
          m.get('edge_outbox_depth_readings') === 0 &&
          m.get('edge_outbox_batches') === 0
        );
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // The broker's PUBACK of the last ack may reach the test a moment after the edge took the ack.
    await waitFor('the test ingest to see its acks taken', () => acker.acked.size === acker.received.size);
    const seqs = [...acker.acked].sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect([...acker.received.values()].reduce((a, n) => a + n, 0)).toBe(limit);
    // It did try the first one.
    await v.edge!.line((l) => l.msg === 'uplink error' && l.url === dead);
    const m = await v.edgeMetrics();
    expect(m.get(`edge_uplink_broker{url="${broker.url}"}`)).toBe(1);
    expect(m.get(`edge_uplink_broker{url="${dead}"}`)).toBe(0);
    // A first session is no failover.
    expect(m.get('edge_uplink_failovers_total')).toBe(0);
  }, 120_000);
});
