import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Ack, decodeAck, encodeBatch, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type Village, createVillage } from './harness/village.js';

const PASSWORD = 'rules-replay-edge-pw';

/**
 * A smoke event the ingest committed but the rules never saw (the cloud died between the two):
 * after a restart the rules catch up on it and raise the alert, although the smoke detector is in
 * no registry (its place is learned from its edge's station, as live batches do).
 *
 * The crash window is made exact with the real village-cloud process: the rules write their state,
 * the cloud runs with rules off while the event is committed and acked, then it is killed (-9) and
 * started with rules on: the event sits after the rules' cursor, as after a crash at that moment.
 */
describe('rules replay after kill -9 between commit and rules', () => {
  let v: Village;
  afterAll(() => v?.cleanup());

  it('raises the smoke alert of an event committed just before the crash', async () => {
    v = await createVillage('rules-replay', { edgePassword: PASSWORD });
    const cloudYaml = join(v.dir, 'cloud', 'cloud.yaml');
    const config = parse(readFileSync(cloudYaml, 'utf8'));
    const withRules = (enabled: boolean) =>
      writeFileSync(cloudYaml, stringify({ ...config, rules: { ...config.rules, enabled } }));

    await v.startCloud();
    await v.cloud!.kill9();
    withRules(false);
    await v.startCloud();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${v.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'edge-1-raw',
      username: 'edge-1',
      password: PASSWORD,
      reconnectPeriod: 0,
    });
    const acks: Ack[] = [];
    client.on('message', (topic, payload) => {
      if (topic === topics.ack('edge-1')) acks.push(decodeAck(payload));
    });
    await client.subscribeAsync(topics.ack('edge-1'), { qos: 1 });
    const ts = Date.now() - 1_000;
    const batch = encodeBatch({
      edgeId: 'edge-1',
      seq: 1,
      boot: 1,
      createdAt: ts,
      historical: false,
      readings: [],
      events: [{ device: 'smoke-9', type: 'smoke', severity: 'critical', ts, data: {} }],
    });
    await client.publishAsync(topics.batch('edge-1'), Buffer.from(batch), { qos: 1 });
    await waitFor('the ack of seq 1', () => acks.some((a) => a.acked.includes(1)));
    await client.endAsync(true);
    await v.cloud!.kill9();

    withRules(true);
    await v.startCloud();
    const alert = await waitFor('the smoke alert', async () =>
      (
        await v.api<{ alerts: { device: string; village: string; station: string; state: string }[] }>(
          '/api/v1/alerts?rule=event.smoke',
        )
      ).body.alerts.find((a) => a.device === 'smoke-9'),
    );
    expect(alert).toMatchObject({ state: 'active', village: 'v1', station: 's1' });
  }, 90_000);
});
