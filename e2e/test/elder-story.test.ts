import {
  type AlertsResponse,
  type IncidentResponseBody,
  type IncidentsResponse,
  incidentResponseBodySchema,
} from '@village/protocol/api';
import { createNbiotDevice } from '@village/simulators';
import { startWebhookReceiver, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const SECRET = 'elder-story-secret';
const IMEI = '861000000000042';
const KEY = '5c'.repeat(16);
/**
 * The acknowledgement deadline, shortened so the story runs in seconds. The default is 180 s (the
 * 3-minute response rule); cloud-ingest/test/incident-deadline.test.ts proves with an injected
 * clock that escalation happens at exactly 3:00. Later levels get a long step so the town is the
 * only escalation while the officer answers.
 */
const ACK_DEADLINE_MS = 6_000;
const ESCALATION_STEP_MS = 600_000;
const NOTE = 'fell in the kitchen; the village doctor checked her, no injury';

/**
 * The whole elder-care story through real processes: an NB-IoT wristband (the simulator, speaking
 * CoAP/CBOR with its HMAC) reports a fall to the real edge bin's NB-IoT driver; the edge forwards
 * it over MQTT to the real cloud bin, whose rules raise a critical alert for the person the
 * registry ties to that band and open an incident. Nobody acknowledges within the deadline, so it
 * escalates to the town; then an officer acknowledges and another resolves it with a note. The
 * audit trail, the escalation and the HMAC-signed webhook deliveries are checked at each step.
 */
describe('elder care: wristband fall → alert → incident → escalation → ack → resolution', () => {
  let v: Village;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  afterAll(async () => {
    await v?.cleanup();
    await hook?.close();
  });

  it('runs the story with the audit trail, the town escalation at the deadline and signed webhooks', async () => {
    hook = await startWebhookReceiver(SECRET);
    v = await createVillage('elder-story', {
      cloud: {
        rules: { incidents: { ackDeadlineMs: ACK_DEADLINE_MS, escalationStepMs: ESCALATION_STEP_MS } },
        notify: { webhooks: [{ id: 'ops', url: hook.url, secret: SECRET, backoffMs: 200 }] },
      },
      registry: {
        people: [{ id: 'p-wang', name: 'Wang Lan', station: 's1', wristband: 'band-1', livesAlone: true }],
      },
    });
    await v.startCloud();
    const edge = await v.startEdge([
      {
        kind: 'nbiot',
        id: 'nbiot',
        port: 0,
        bind: '127.0.0.1',
        devices: [{ id: 'band-1', imei: IMEI, key: KEY, codec: 'wristband' }],
      },
    ]);
    const port = (await edge.line((l) => l.msg === 'nbiot: CoAP server listening')).port as number;
    const band = createNbiotDevice({ host: '127.0.0.1', port, imei: IMEI, keyHex: KEY, codec: 'wristband' });

    // 1. The fall. 2.04 means the edge has it in its outbox.
    const fallAt = Date.now();
    const answer = await band.report({
      worn: true,
      fall: true,
      sos: false,
      heart_rate: 96,
      spo2: 95,
      steps: 1_204,
      battery: 71,
      lat: 30.274085,
      lon: 120.15507,
    });
    expect(answer.code).toBe('2.04');

    // 2. The alert, for the person the registry ties to band-1, and the incident it opens.
    const alert = await waitFor(
      'the fall alert',
      async () => (await v.api<AlertsResponse>('/api/v1/alerts?rule=elder.fall')).body.alerts[0],
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(alert).toMatchObject({ person: 'p-wang', device: 'band-1', severity: 'critical' });
    const opened = await waitFor(
      'an open incident',
      async () => (await v.api<IncidentsResponse>('/api/v1/incidents?state=open')).body.incidents[0],
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(opened).toMatchObject({ village: 'v1', person: 'p-wang', level: 'village', escalations: [] });
    expect(opened.devices).toContain('band-1');
    expect(opened.openedAt).toBeGreaterThanOrEqual(fallAt);
    const deadline = opened.deadline!;
    expect(deadline).toBe(opened.openedAt + ACK_DEADLINE_MS);
    expect(v.query("SELECT * FROM events WHERE device = 'band-1' AND type = 'fall'")).toHaveLength(1);
    const openedHook = await waitFor('the opened webhook', () =>
      hook.got.find((h) => h.body.incidentId === opened.id && h.body.reason === 'opened'),
    );
    expect(openedHook.signed).toBe(true);
    expect(openedHook.body).toMatchObject({ level: 'village', place: 'v1', village: 'v1' });

    // 3. Nobody acknowledges: at the deadline it goes up to the town.
    const escalated = await waitFor(
      'the escalation to the town',
      async () => {
        const { body } = await v.api<IncidentResponseBody>(`/api/v1/incidents/${opened.id}`);
        return body.incident.escalations.length > 0 ? body.incident : undefined;
      },
      { timeoutMs: ACK_DEADLINE_MS + 30_000, intervalMs: 100 },
    );
    const e = escalated.escalations[0]!;
    expect(e).toMatchObject({ level: 'town', dueAt: deadline });
    expect(e.at).toBeGreaterThanOrEqual(deadline);
    expect(e.at - deadline).toBeLessThan(2_000);
    expect(escalated).toMatchObject({ state: 'open', level: 'town' });

    // 4. A town officer acknowledges; a second ack is refused.
    const ack = await v.api<IncidentResponseBody>(`/api/v1/incidents/${opened.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-li' },
      body: JSON.stringify({ note: 'calling her daughter' }),
    });
    expect(ack.status).toBe(200);
    expect(ack.body.incident).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'officer-li' });
    const acked = ack.body.incident;
    expect(acked.acknowledgedAt!).toBeGreaterThan(e.at);
    expect(acked.firstResponseMs).toBe(acked.acknowledgedAt! - acked.openedAt);
    const again = await v.api(`/api/v1/incidents/${opened.id}/ack`, {
      method: 'POST',
      headers: { 'x-actor': 'officer-li' },
    });
    expect(again.status).toBe(409);

    // 5. Resolution needs a note; another officer closes it.
    const noNote = await v.api(`/api/v1/incidents/${opened.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-zhao' },
      body: JSON.stringify({}),
    });
    expect(noNote.status).toBe(400);
    const res = await v.api<IncidentResponseBody>(`/api/v1/incidents/${opened.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-zhao' },
      body: JSON.stringify({ outcome: 'handled_on_site', note: NOTE }),
    });
    expect(res.status).toBe(200);
    const done = res.body.incident;
    expect(done).toMatchObject({ state: 'resolved', resolvedBy: 'officer-zhao', note: NOTE });

    // 6. The audit trail: who did what, when, in order, as the API serves it and as cloud.db keeps it.
    const { body } = await v.api<IncidentResponseBody>(`/api/v1/incidents/${opened.id}`);
    // The answer is the shared contract (@village/protocol/api), checked at run time as the dashboards check it.
    const audit = incidentResponseBodySchema.parse(body).incident.audit;
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['opened', 'system'],
      ['escalated', 'system'],
      ['acknowledged', 'officer-li'],
      ['resolved', 'officer-zhao'],
    ]);
    expect(audit.map((a) => a.at)).toEqual([opened.openedAt, e.at, acked.acknowledgedAt, done.resolvedAt]);
    expect(audit[3]!.detail).toBe(NOTE);
    const rows = v.query<{ action: string; actor: string; at: number }>(
      'SELECT action, actor, at FROM incident_audit WHERE incident_id = ? ORDER BY seq',
      opened.id,
    );
    expect(rows).toEqual(audit.map((a) => ({ action: a.action, actor: a.actor, at: a.at })));

    // 7. Every notification reached the webhook signed: the village at opening, the town at the
    // deadline, and both levels of the acknowledgement and the resolution.
    const want = [
      'opened/village',
      'escalated/town',
      'acknowledged/village',
      'acknowledged/town',
      'resolved/village',
      'resolved/town',
    ];
    const mine = () => hook.got.filter((h) => h.body.incidentId === opened.id);
    await waitFor('every webhook delivery', () =>
      want.every((w) => mine().some((h) => `${h.body.reason}/${h.body.level}` === w)),
    );
    expect(mine().every((h) => h.signed)).toBe(true);
    const escalationHook = mine().find((h) => h.body.reason === 'escalated')!;
    expect(escalationHook.body).toMatchObject({ level: 'town', place: 't1', village: 'v1' });
    expect(escalationHook.at - deadline).toBeLessThan(5_000);
    const log = await v.api<{
      notifications: { channel: string; state: string; reason: string; level: string }[];
    }>(`/api/v1/incidents/${opened.id}/notifications`);
    const webhookLog = log.body.notifications.filter((n) => n.channel === 'webhook:ops');
    expect(webhookLog).toHaveLength(want.length);
    expect(webhookLog.every((n) => n.state === 'delivered')).toBe(true);
  }, 120_000);
});
