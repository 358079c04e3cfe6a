import { type Ack, decodeAck, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { Encoder } from 'cbor-x';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const PASSWORD = 'dead-letter-edge-pw';
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/**
 * The built village-cloud process; a raw MQTT client with edge-1's real credential plays an edge
 * whose encoder disagrees with the cloud (a string in the timestamp column). The cloud must answer
 * with a rejection for that seq (so the edge moves on), keep the batch as a dead letter and list it.
 */
describe('a batch the cloud cannot decode becomes a dead letter (real village-cloud process)', () => {
  let v: Village;
  let client: MqttClient;
  beforeAll(async () => {
    v = await createVillage('dead-letter', { edgePassword: PASSWORD });
    await v.startCloud();
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${v.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'edge-1-raw',
      username: 'edge-1',
      password: PASSWORD,
      reconnectPeriod: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await client?.endAsync(true);
    await v?.cleanup();
  });

  it('is rejected in an ack, kept with its bytes and listed by the API', async () => {
    const acks: Ack[] = [];
    client.on('message', (topic, payload) => {
      if (topic === topics.ack('edge-1')) acks.push(decodeAck(payload));
    });
    await client.subscribeAsync(topics.ack('edge-1'), { qos: 1 });
    const t0 = Date.now() - 60_000;
    const bytes = cbor.encode({
      v: 1,
      e: 'edge-1',
      s: 3,
      b: 1,
      c: t0,
      h: false,
      d: ['pm-1'],
      m: ['pm25'],
      u: ['ug'],
      k: [0, 0, 0],
      t0,
      rs: [0],
      rt: ['later'],
      rx: [1],
      rp: [0],
    });
    await client.publishAsync(topics.batch('edge-1'), Buffer.from(bytes), { qos: 1 });
    const ack = await waitFor('the rejection of seq 3', () => acks.find((a) => a.rejected.length > 0));
    expect(ack).toEqual({
      acked: [],
      rejected: [{ seq: 3, reason: expect.stringMatching(/^undecodable \(bad_type\)/) }],
      cloudTime: expect.any(Number),
    });

    const list = await v.api<{
      deadLetters: { id: number; edge: string; seq: number; reason: string; size: number }[];
    }>('/api/v1/dead-letters');
    expect(list.status).toBe(200);
    expect(list.body.deadLetters).toEqual([
      expect.objectContaining({
        kind: 'batch',
        edge: 'edge-1',
        seq: 3,
        reason: 'bad_type',
        size: bytes.length,
      }),
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${v.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/cloud_dead_letters_total\{kind="batch",reason="bad_type"\} 1/);
  });
});
