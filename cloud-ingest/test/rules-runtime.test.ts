import { createHmac } from 'node:crypto';
import type { DeviceEvent, Reading } from '@village/protocol';
import { type WebhookReceiver, startWebhookReceiver, waitFor } from '@village/test-kit';
import { Hono } from 'hono';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maySubscribe } from '../src/broker/edge-acl.js';
import { createAlertRoutes } from '../src/http/alert-routes.js';
import { ApiError } from '../src/http/api-error.js';
import { createIncidentRoutes } from '../src/http/incident-routes.js';
import type { RequestScope } from '../src/http/request-scope.js';
import type { IncidentView } from '../src/rules-runtime/incident-view.js';
import type { RulesChange } from '../src/rules-runtime/rules-runtime.js';
import type { AlertView } from '../src/rules-runtime/rules-store.js';
import { T0, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const SECRET = 'webhook-secret-for-tests';

const reading = (device: string, metric: string, value: number, ts: number): Reading => ({
  device,
  metric,
  value,
  unit: 'µg/m³',
  ts,
  quality: 'good',
});

describe('rules runtime in a real cloud', () => {
  let t: Awaited<ReturnType<typeof startRulesCloud>>;
  let receiver: WebhookReceiver;
  let edge: MqttClient;
  let acks: Awaited<ReturnType<typeof collectAcks>>;
  let seq = 0;
  const changes: RulesChange[] = [];
  const mqttNotices: { topic: string; body: Record<string, unknown> }[] = [];

  const send = async (readings: Reading[], events: DeviceEvent[] = []) => {
    seq++;
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', seq, 0, { readings, events }));
    await waitForAck(acks, seq);
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET, { failFirst: 1 });
    t = await startRulesCloud({
      rules: {
        thresholds: [{ id: 'pm25-high', metric: 'pm25', direction: 'above', level: 100, clearLevel: 80 }],
        incidents: { ackDeadlineMs: 600_000 },
      },
      notify: {
        webhooks: [{ id: 'ops', url: receiver.url, secret: SECRET, backoffMs: 300, maxBackoffMs: 2_000 }],
      },
    });
    t.cloud.rules!.onChange((c) => changes.push(c));
    // An in-cloud subscriber of the notification topic, on the embedded broker itself.
    await new Promise<void>((resolve) =>
      t.cloud.aedes.subscribe(
        'v1/notify/#',
        (packet, done) => {
          mqttNotices.push({ topic: packet.topic, body: JSON.parse(packet.payload.toString()) });
          done();
        },
        resolve,
      ),
    );
    edge = await t.connectEdge();
    acks = await collectAcks(edge, 'edge-1');
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  it('a value flapping around the level raises one alert, not one per crossing', async () => {
    // pm-2 is not in the registry: it is learned from edge-1's station (village v1).
    const values = [101, 99, 130, 85, 101, 95, 120, 81];
    await send(values.map((v, i) => reading('pm-2', 'pm25', v, T0 + i * 1000)));
    const { body } = await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=pm25-high');
    const mine = body.alerts.filter((a) => a.device === 'pm-2');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ state: 'active', village: 'v1', station: 's1', severity: 'warning' });
    // Every trigger above the level counted; the dead band (80..100] neither clears nor counts.
    await waitFor('four triggers counted on pm-2', async () => {
      const r = await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=pm25-high');
      return r.body.alerts.find((a) => a.device === 'pm-2')?.count === 4;
    });
    // Clearing below the clear level, then the alert shows as cleared.
    await send([reading('pm-2', 'pm25', 50, T0 + 20_000)]);
    const after = await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?state=cleared');
    expect(after.body.alerts.map((a) => a.device)).toContain('pm-2');
  });

  it('a storm of 1,000 identical triggers over several batches is one alert with count 1,000', async () => {
    for (let b = 0; b < 4; b++) {
      await send(
        Array.from({ length: 250 }, (_, i) =>
          reading('pm-1', 'pm25', 300, T0 + 100_000 + (b * 250 + i) * 1000),
        ),
      );
    }
    await waitFor('one pm-1 alert with count 1000', async () => {
      const r = await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=pm25-high&state=active');
      const a = r.body.alerts.filter((x) => x.device === 'pm-1');
      return a.length === 1 && a[0]!.count === 1_000;
    });
    const rows = t.cloud.db.prepare("SELECT COUNT(*) AS n FROM alerts WHERE device = 'pm-1'").get() as {
      n: number;
    };
    expect(rows.n).toBe(1);
  });

  let incident: IncidentView;

  it('a fall opens an incident, notified by a signed webhook (retried after a 500) and on MQTT', async () => {
    const now = Date.now();
    await send([], [{ device: 'wb-1', type: 'fall', severity: 'critical', ts: now, data: {} }]);
    const list = await waitFor('one open incident', async () => {
      const r = await t.api<{ incidents: IncidentView[] }>('/api/v1/incidents?state=open');
      return r.body.incidents.length === 1 ? r.body.incidents : undefined;
    });
    incident = list[0]!;
    expect(incident).toMatchObject({
      state: 'open',
      village: 'v1',
      person: 'p1',
      level: 'village',
      late: false,
    });
    expect(incident.deadline).toBe(incident.receivedAt + 600_000);
    const fall = (await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?severity=critical')).body.alerts;
    expect(fall).toHaveLength(1);
    expect(incident.alerts).toEqual([fall[0]!.id]);

    // Webhook: the first attempt got 500, the retry came after the backoff and got 200.
    await waitFor('webhook retried', () => receiver.requests.some((g) => g.status === 200), {
      timeoutMs: 20_000,
    });
    const [first, second] = receiver.requests;
    expect(first!.status).toBe(500);
    expect(second!.delivery).toBe(first!.delivery);
    expect(second!.raw).toBe(first!.raw);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(250);
    for (const g of receiver.requests) {
      const want = `sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`;
      expect(g.signature).toBe(want);
    }
    const payload = JSON.parse(second!.raw);
    expect(payload).toMatchObject({
      incidentId: incident.id,
      level: 'village',
      place: 'v1',
      reason: 'opened',
    });
    // Structured fields and a rendered Chinese text; the village level sees the full name.
    expect(payload.text).toMatchObject({ kind: 'fall', person: 'p1', device: 'wb-1' });
    expect(payload.textZh).toBe('张三 跌倒');
    expect(incident.text).toMatchObject({ kind: 'fall', person: 'p1' });
    expect(fall[0]!.text).toMatchObject({ kind: 'fall', person: 'p1' });

    // The delivery log says the same.
    const log = await t.api<{ notifications: { channel: string; state: string; attempts: number }[] }>(
      `/api/v1/incidents/${incident.id}/notifications`,
    );
    expect(log.body.notifications).toContainEqual(
      expect.objectContaining({ channel: 'webhook:ops', state: 'delivered', attempts: 2 }),
    );

    await waitFor('MQTT notification', () => mqttNotices.length > 0);
    expect(mqttNotices[0]!.topic).toBe('v1/notify/v1');
    expect(mqttNotices[0]!.body).toMatchObject({ incidentId: incident.id, reason: 'opened' });
    expect(changes.some((c) => c.type === 'incident' && c.incident.id === incident.id)).toBe(true);
  });

  it('refuses an edge that subscribes to the notification topic (broker ACL)', async () => {
    expect(maySubscribe('edge-1', 'v1/notify/v1')).toBe(false);
    expect(maySubscribe('edge-1', 'v1/notify/#')).toBe(false);
    // Through the real broker: SUBACK grants 128 (failure), which mqtt.js reports as an error.
    await expect(edge.subscribeAsync('v1/notify/#', { qos: 1 })).rejects.toThrow();
  });

  it('filters by scope: another village sees nothing, and cannot act on the incident', async () => {
    const scoped = (villages: string[]) => {
      const app = new Hono();
      app.onError((err, c) =>
        err instanceof ApiError
          ? c.json({ error: { code: err.code, message: err.message } }, err.status)
          : c.json({ error: { code: 'internal', message: err.message } }, 500),
      );
      app.use(async (c, next) => {
        const scope: RequestScope = {
          actor: 'officer-v2',
          role: 'village',
          villages: new Set(villages),
          personalData: false,
        };
        c.set('scope' as never, scope as never);
        await next();
      });
      app.route('/', createAlertRoutes(t.cloud.rules!));
      app.route('/', createIncidentRoutes(t.cloud.rules!));
      return app;
    };
    const other = scoped(['v2']);
    expect(await (await other.request('/api/v1/incidents')).json()).toEqual({ incidents: [] });
    expect(await (await other.request('/api/v1/alerts')).json()).toEqual({ alerts: [] });
    expect((await other.request(`/api/v1/incidents/${incident.id}`)).status).toBe(404);
    expect((await other.request(`/api/v1/incidents/${incident.id}/ack`, { method: 'POST' })).status).toBe(
      404,
    );
    const own = scoped(['v1']);
    const mine = (await (await own.request('/api/v1/incidents')).json()) as { incidents: IncidentView[] };
    expect(mine.incidents.map((i) => i.id)).toEqual([incident.id]);
    const bad = await t.api('/api/v1/alerts?state=maybe');
    expect(bad.status).toBe(400);
  });

  it('acknowledge and resolve write the audit trail with actor and time; SLA counts the response', async () => {
    const early = await t.api(`/api/v1/incidents/${incident.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'too early' }),
    });
    expect(early.status).toBe(409);
    const ack = await t.api<{ incident: IncidentView }>(`/api/v1/incidents/${incident.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-li' },
      body: JSON.stringify({ note: 'on my way' }),
    });
    expect(ack.status).toBe(200);
    expect(ack.body.incident).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'officer-li',
      deadline: null,
    });
    expect(ack.body.incident.firstResponseMs).toBe(ack.body.incident.acknowledgedAt! - incident.openedAt);
    const again = await t.api(`/api/v1/incidents/${incident.id}/ack`, { method: 'POST' });
    expect(again.status).toBe(409);
    // The optional "arrived on scene" step, once.
    const arrived = await t.api<{ incident: IncidentView }>(`/api/v1/incidents/${incident.id}/arrive`, {
      method: 'POST',
      headers: { 'x-actor': 'officer-li' },
    });
    expect(arrived.status).toBe(200);
    expect(arrived.body.incident).toMatchObject({ arrivedBy: 'officer-li' });
    expect(arrived.body.incident.arrivalMs).toBe(
      arrived.body.incident.arrivedAt! - ack.body.incident.acknowledgedAt!,
    );
    expect((await t.api(`/api/v1/incidents/${incident.id}/arrive`, { method: 'POST' })).status).toBe(409);
    const noNote = await t.api(`/api/v1/incidents/${incident.id}/resolve`, { method: 'POST' });
    expect(noNote.status).toBe(400);
    // Closing needs an outcome (误报, 已到场处置, 送医, 其他) besides the note.
    const noOutcome = await t.api<{ error: { code: string } }>(`/api/v1/incidents/${incident.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-li' },
      body: JSON.stringify({ note: 'helped up, unhurt' }),
    });
    expect(noOutcome.status).toBe(400);
    expect(noOutcome.body.error.code).toBe('missing_outcome');
    const res = await t.api<{ incident: IncidentView }>(`/api/v1/incidents/${incident.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-li' },
      body: JSON.stringify({ outcome: 'handled_on_site', note: 'helped up, unhurt' }),
    });
    expect(res.body.incident).toMatchObject({
      state: 'resolved',
      resolvedBy: 'officer-li',
      outcome: 'handled_on_site',
      note: 'helped up, unhurt',
    });
    expect(res.body.incident.audit.map((a) => [a.action, a.actor])).toEqual([
      ['opened', 'system'],
      ['acknowledged', 'officer-li'],
      ['arrived', 'officer-li'],
      ['resolved', 'officer-li'],
    ]);
    expect(res.body.incident.audit[1]!.detail).toBe('on my way');
    const audit = t.cloud.db
      .prepare('SELECT action, actor, at FROM incident_audit WHERE incident_id = ? ORDER BY seq')
      .all(incident.id) as { action: string; actor: string; at: number }[];
    expect(audit.map((a) => a.action)).toEqual(['opened', 'acknowledged', 'arrived', 'resolved']);
    expect(audit[3]!.at).toBe(res.body.incident.resolvedAt);
    const gone = await t.api(`/api/v1/incidents/${incident.id}/ack`, { method: 'POST' });
    expect(gone.status).toBe(409);

    const sla = await t.api<{ villages: Record<string, unknown>[] }>('/api/v1/sla');
    expect(sla.body.villages).toEqual([
      expect.objectContaining({
        village: 'v1',
        incidents: 1,
        acknowledged: 1,
        withinTarget: 1,
        withinTargetShare: 1,
        medianResponseMs: ack.body.incident.firstResponseMs,
      }),
    ]);
    const byPlace = (
      sla.body as unknown as { byPlace: { level: string; place: string; responses: number }[] }
    ).byPlace;
    expect(byPlace.map((r) => [r.level, r.place, r.responses])).toEqual([
      ['village', 'v1', 1],
      ['town', 't1', 1],
      ['county', 'c1', 1],
    ]);
    const empty = await t.api<{ villages: unknown[] }>(`/api/v1/sla?from=${Date.now() + 60_000}`);
    expect(empty.body.villages).toEqual([]);
  });

  it('keeps alerts, incidents and state across a restart', async () => {
    // cloud.close() waits for connected MQTT clients, so the edge leaves first.
    await edge.endAsync(true);
    await t.restart();
    const r = await t.api<{ incidents: IncidentView[] }>(`/api/v1/incidents/${incident.id}`);
    expect(r.status).toBe(200);
    const storm = await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=pm25-high&state=active');
    expect(storm.body.alerts.find((a) => a.device === 'pm-1')?.count).toBe(1_000);
  });
}, 90_000);
