import { type Status, decodeStatus, topics } from '@village/protocol';
import { type Mosquitto, fetchMetrics, startMosquitto, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/**
 * The last will of a session the edge already left (docs/scaling.md "Several brokers"): a real
 * village-edge with two real Mosquittos in `cloud.urls`, a real village-cloud consuming both. Broker
 * A is frozen (SIGSTOP); the edge's keepalive gives up on it and it moves to B, born there. When A
 * thaws it sees the edge's socket gone and publishes the will it held, naming the same boot: the
 * cloud must see it is the will of the old session (its bdSeq) and keep the edge online.
 */
const PASSWORDS = { 'edge-1': 'pw-edge-1-stale-will', ingest: 'pw-ingest-stale-will' };
const READINGS = 40;

describe('a late will from the broker the edge left', () => {
  let brokerA: Mosquitto;
  let brokerB: Mosquitto;
  let watchers: MqttClient[] = [];
  /** Every status each broker delivered, in order. */
  const seen: { broker: 'A' | 'B'; status: Status }[] = [];
  /** The first `state` status broker `name` delivered: its boot and session number. */
  const firstOn = (name: 'A' | 'B', state: 'online' | 'offline') =>
    seen.find((x) => x.broker === name && x.status.state === state)?.status as
      | { boot: number; bdSeq?: number }
      | undefined;
  let v: Village;
  beforeAll(async () => {
    [brokerA, brokerB] = await Promise.all([startMosquitto(PASSWORDS), startMosquitto(PASSWORDS)]);
    process.env.VILLAGE_INGEST_PASSWORD = PASSWORDS.ingest;
    watchers = await Promise.all(
      (['A', 'B'] as const).map(async (name) => {
        const broker = name === 'A' ? brokerA : brokerB;
        const c = await mqtt.connectAsync(broker.ingestUrl, {
          username: 'ingest',
          password: PASSWORDS.ingest,
          clientId: `test-status-${name}`,
          reconnectPeriod: 100,
        });
        c.on('message', (_topic, payload) => seen.push({ broker: name, status: decodeStatus(payload) }));
        await c.subscribeAsync(topics.status('edge-1'), { qos: 1 });
        return c;
      }),
    );
    v = await createVillage('stale-will', {
      cloud: {
        mqtt: {
          mode: 'external',
          url: [brokerA.ingestUrl, brokerB.ingestUrl],
          username: 'ingest',
          password: '${VILLAGE_INGEST_PASSWORD}',
          clientId: 'worker-a',
          sessionExpiryS: 60,
        },
      },
      edgePassword: PASSWORDS['edge-1'],
    });
  });
  afterAll(async () => {
    brokerA?.resume();
    await v?.cleanup();
    await Promise.all(watchers.map((c) => c.endAsync(true)));
    await Promise.all([brokerA?.dispose(), brokerB?.dispose()]);
  });

  const edgeRow = () =>
    v.query<{ online: number; boot: number; bd_seq: number | null }>(
      "SELECT online, boot, bd_seq FROM edges WHERE id = 'edge-1'",
    )[0];
  const onBroker = async (b: Mosquitto) =>
    (
      (await (await fetch(`http://127.0.0.1:${v.healthPort}/health`)).json()) as {
        uplink: { broker: string };
      }
    ).uplink.broker === b.url;

  it('keeps the edge online: the will names the old session, the birth on B a newer one', async () => {
    await v.startCloud();
    await v.startEdge(
      { devices: 2, intervalMs: 100, limit: READINGS },
      {},
      { url: undefined, urls: [brokerA.url, brokerB.url], keepaliveS: 1 },
    );
    await waitFor('the edge on A', () => onBroker(brokerA));
    // Idle from here on: with nothing to publish, the keepalive pings are what notice a frozen broker.
    await v.allAcked(READINGS, 30_000);
    const firstBirth = firstOn('A', 'online')!;
    await waitFor('the cloud has the birth on A', () => edgeRow()?.online === 1);

    brokerA.pause();
    await waitFor('the edge moved to B', () => onBroker(brokerB), { timeoutMs: 15_000, intervalMs: 50 });
    const birthOnB = await waitFor('its birth on B', () => firstOn('B', 'online'));
    const statuses = async (state: string, result: string) =>
      (await fetchMetrics(`http://127.0.0.1:${v.httpPort}/metrics`)).get(
        `cloud_status_messages_total{state="${state}",result="${result}"}`,
      ) ?? 0;
    await waitFor('the cloud has the birth on B', async () => (await statuses('online', 'applied')) >= 2);
    brokerA.resume();

    const will = await waitFor('A publishes the will it held', () => firstOn('A', 'offline'));
    // The same boot (the edge never restarted): only the session number tells the two apart.
    expect(will.boot).toBe(birthOnB.boot);
    expect(will.bdSeq).toBe(firstBirth.bdSeq);
    expect(birthOnB.bdSeq).toBeGreaterThan(firstBirth.bdSeq!);
    await waitFor(
      'the cloud to judge the will',
      async () => (await statuses('offline', 'stale')) + (await statuses('offline', 'applied')) >= 1,
    );
    expect(await statuses('offline', 'applied')).toBe(0);
    expect(edgeRow()).toMatchObject({ online: 1, bd_seq: birthOnB.bdSeq });
  });
});
