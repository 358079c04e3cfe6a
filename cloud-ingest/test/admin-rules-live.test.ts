import type { DeviceEvent, Reading } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView } from '../src/rules-runtime/rules-store.js';
import { T0, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const reading = (device: string, value: number, ts: number): Reading => ({
  device,
  metric: 'pm25',
  value,
  unit: 'µg/m³',
  ts,
  quality: 'good',
});

// Issue 17: the rules runtime sees admin changes of the registry without a restart: a new edge's
// sensors count for its village, a moved edge's for the new one, a person added is watched.
describe('rules see admin changes live', { timeout: 60_000 }, () => {
  let t: Awaited<ReturnType<typeof startRulesCloud>>;
  let edge: MqttClient;
  let seq = 0;
  let acks: Awaited<ReturnType<typeof collectAcks>>;
  beforeAll(async () => {
    t = await startRulesCloud({
      rules: {
        thresholds: [{ id: 'pm25-high', metric: 'pm25', direction: 'above', level: 100, clearLevel: 80 }],
      },
    });
  });
  afterAll(async () => {
    await edge?.endAsync(true);
    await t?.stop();
  });
  const admin = (method: string, path: string, body: unknown) =>
    t.api(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const send = async (readings: Reading[], events: DeviceEvent[] = []) => {
    seq++;
    await publishBatch(edge, 'edge-9', makeBatch('edge-9', seq, 0, { readings, events }));
    await waitForAck(acks, seq);
  };
  const alertOf = async (device: string) =>
    (await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=pm25-high')).body.alerts.find(
      (a) => a.device === device,
    );

  it('a new edge counts for its village, a moved one for the new village, a new person is watched', async () => {
    expect(
      (await admin('POST', '/api/v1/admin/villages', { id: 'v9', town: 't1', name: '九村' })).status,
    ).toBe(201);
    expect(
      (await admin('POST', '/api/v1/admin/stations', { id: 's9', village: 'v9', name: '九站' })).status,
    ).toBe(201);
    const made = await admin('POST', '/api/v1/admin/edges', { id: 'edge-9', station: 's9' });
    const secret = (made.body as { credential: { secret: string } }).credential.secret;
    edge = mqtt.connect(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
      protocolVersion: 4,
      clientId: 'edge-9',
      username: 'edge-9',
      password: secret,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      edge.once('connect', () => resolve());
      edge.once('error', reject);
    });
    acks = await collectAcks(edge, 'edge-9');

    await send([reading('pm-9', 300, T0)]);
    expect(await waitFor("pm-9's alert", () => alertOf('pm-9'))).toMatchObject({
      village: 'v9',
      station: 's9',
    });

    // Moved to another village's station: its next new sensor is judged there.
    await admin('POST', '/api/v1/admin/villages', { id: 'v10', town: 't1', name: '十村' });
    await admin('POST', '/api/v1/admin/stations', { id: 's10', village: 'v10', name: '十站' });
    expect((await admin('PATCH', '/api/v1/admin/edges/edge-9', { station: 's10' })).status).toBe(200);
    await send([reading('pm-10', 300, T0 + 1000)]);
    expect(await waitFor("pm-10's alert", () => alertOf('pm-10'))).toMatchObject({
      village: 'v10',
      station: 's10',
    });

    // A person added with a wristband: a fall of that band opens an incident for them.
    const person = await admin('POST', '/api/v1/admin/people', {
      id: 'p9',
      name: '赵九',
      station: 's10',
      wristband: 'wb-9',
      livesAlone: true,
    });
    expect(person.status).toBe(201);
    await send([], [{ device: 'wb-9', type: 'fall', severity: 'critical', ts: Date.now(), data: {} }]);
    const incident = await waitFor('the incident of the added person', async () => {
      const r = await t.api<{ incidents: { person: string | null; village: string }[] }>('/api/v1/incidents');
      return r.body.incidents.find((i) => i.person === 'p9');
    });
    expect(incident.village).toBe('v10');

    // Two people on one band: the rules refuse it, so the change is refused and undone.
    const clash = await admin('POST', '/api/v1/admin/people', {
      id: 'p10',
      name: '钱十',
      station: 's10',
      wristband: 'wb-9',
    });
    expect(clash.status).toBe(400);
    expect(JSON.stringify(clash.body)).toContain('worn by two people');
    expect((await t.api('/api/v1/admin/people/p10')).status).toBe(404);
  });
});
