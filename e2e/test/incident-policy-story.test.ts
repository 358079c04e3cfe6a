import { createIsapiCamera, createNbiotDevice } from '@village/simulators';
import { startWebhookReceiver, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const SECRET = 'incident-policy-secret';
const KEY = '7d'.repeat(16);
const IMEI_1 = '861000000000101';
const IMEI_2 = '861000000000102';
/** Short deadlines so the whole ladder (village → town → county → county again) runs in seconds. */
const ACK_MS = 3_000;
const STEP_MS = 3_000;

interface Incident {
  id: string;
  state: string;
  kind: string;
  subject: string;
  situation: string;
  person: string | null;
  devices: string[];
  deadline: number | null;
  level: string;
  priority: number;
  escalations: { level: string; at: number; dueAt: number }[];
}

const incidents = async (v: Village) =>
  (await v.api<{ incidents: Incident[] }>('/api/v1/incidents?limit=100')).body.incidents;

/**
 * Issue 15's demo story through the real bins: a camera's intrusion (ISAPI, through the edge's
 * camera driver) and a wristband fall (NB-IoT CoAP) are two incidents, the fall escalates even
 * though the intrusion was acknowledged first, and at the county it keeps notifying; a second
 * person's SOS is its own incident. A second cloud shows the silent band of a person living
 * alone becoming a critical incident.
 */
describe('incident policy: one subject per incident, life safety first, escalation repeats after the county', () => {
  const villages: Village[] = [];
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  afterAll(async () => {
    for (const v of villages) await v.cleanup();
    await hook?.close();
  });

  it('intrusion and fall are two incidents; the fall climbs to the county and repeats there; another SOS is its own', async () => {
    hook = await startWebhookReceiver(SECRET);
    const v = await createVillage('incident-policy', {
      cloud: {
        rules: { incidents: { ackDeadlineMs: ACK_MS, escalationStepMs: STEP_MS } },
        notify: { webhooks: [{ id: 'ops', url: hook.url, secret: SECRET, backoffMs: 200 }] },
      },
      registry: {
        people: [
          { id: 'p-0001', name: '张伟', station: 's1', wristband: 'band-1', livesAlone: true },
          { id: 'p-0002', name: '李秀英', station: 's1', wristband: 'band-2', livesAlone: true },
        ],
      },
    });
    villages.push(v);
    await v.startCloud();
    const edge = await v.startEdge([
      {
        kind: 'nbiot',
        id: 'nbiot',
        port: 0,
        bind: '127.0.0.1',
        devices: [
          { id: 'band-1', imei: IMEI_1, key: KEY, codec: 'wristband' },
          { id: 'band-2', imei: IMEI_2, key: KEY, codec: 'wristband' },
        ],
      },
      {
        kind: 'camera',
        id: 'cameras',
        http: { port: 0, bind: '127.0.0.1' },
        intrusionSeverity: 'critical',
        cameras: [{ id: 'cam-gate', auth: { type: 'digest', username: 'hik', password: 'cam-pass-1' } }],
      },
    ]);
    const coapPort = (await edge.line((l) => l.msg === 'nbiot: CoAP server listening')).port as number;
    const httpPort = (await edge.line((l) => l.msg === 'camera: listening')).http as number;
    const band = (imei: string) =>
      createNbiotDevice({ host: '127.0.0.1', port: coapPort, imei, keyHex: KEY, codec: 'wristband' });
    const report = { worn: true, sos: false, heart_rate: 80, spo2: 96, steps: 900, battery: 70 };

    // 1. The intrusion opens its incident; an officer acknowledges it at once.
    const camera = createIsapiCamera({
      baseUrl: `http://127.0.0.1:${httpPort}`,
      cameraId: 'cam-gate',
      auth: { type: 'digest', username: 'hik', password: 'cam-pass-1' },
    });
    expect(await camera.alarm({ eventType: 'linedetection' })).toBe(200);
    const intrusion = await waitFor('the intrusion incident', async () =>
      (await incidents(v)).find((i) => i.kind === 'event.intrusion'),
    );
    expect(intrusion).toMatchObject({ subject: 'device:cam-gate|event.intrusion', person: null });
    const ack = await v.api(`/api/v1/incidents/${intrusion.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'officer-li' },
      body: JSON.stringify({ note: 'checking the gate' }),
    });
    expect(ack.status).toBe(200);

    // 2. The fall of p-0001 is its own incident, about the person, with its own deadline.
    expect((await band(IMEI_1).report({ ...report, fall: true })).code).toBe('2.04');
    const fall = await waitFor('the fall incident', async () =>
      (await incidents(v)).find((i) => i.kind === 'elder.fall'),
    );
    expect(fall.id).not.toBe(intrusion.id);
    expect(fall).toMatchObject({
      state: 'open',
      person: 'p-0001',
      subject: 'person:p-0001',
      level: 'village',
    });
    expect(fall.deadline).not.toBeNull();
    // Same station, close in time: linked as one situation, never merged.
    expect(fall.situation).toBe(intrusion.id);

    // 3. Another person's SOS is its own incident too.
    expect((await band(IMEI_2).report({ ...report, fall: false, sos: true })).code).toBe('2.04');
    const sos = await waitFor('the SOS incident', async () =>
      (await incidents(v)).find((i) => i.kind === 'elder.sos'),
    );
    expect(sos).toMatchObject({ person: 'p-0002', subject: 'person:p-0002' });
    expect(new Set([intrusion.id, fall.id, sos.id]).size).toBe(3);

    // 4. Nobody answers the fall: town, county, then the county again, every step.
    const climbed = await waitFor(
      'the fall escalated to the county and repeated there',
      async () => {
        const { body } = await v.api<{ incident: Incident }>(`/api/v1/incidents/${fall.id}`);
        return body.incident.escalations.length >= 3 ? body.incident : undefined;
      },
      { timeoutMs: ACK_MS + 3 * STEP_MS + 30_000, intervalMs: 200 },
    );
    expect(climbed.escalations.slice(0, 3).map((e) => e.level)).toEqual(['town', 'county', 'county']);
    expect(climbed.state).toBe('open');
    expect(climbed.deadline).toBeGreaterThan(climbed.escalations[2]!.dueAt);
    await waitFor('two county notifications of the fall on the webhook', () => {
      const county = hook.got.filter(
        (h) => h.body.incidentId === fall.id && h.body.reason === 'escalated' && h.body.level === 'county',
      );
      return county.length >= 2 && county.every((h) => h.signed);
    });
    // The intrusion, acknowledged, never escalated.
    const { body: still } = await v.api<{ incident: Incident }>(`/api/v1/incidents/${intrusion.id}`);
    expect(still.incident).toMatchObject({ state: 'acknowledged', escalations: [], deadline: null });
  }, 120_000);

  it('an edge killed is one "edge offline" incident for its station, not a silence alert per band behind it', async () => {
    const v = await createVillage('edge-offline', {
      cloud: {
        rules: {
          elderCare: { reportIntervalMs: 1_000, silenceFactor: 2, silenceAloneCriticalMs: 3_000 },
          // Escalating at 8 s: by then every band behind the edge would long have been "silent".
          incidents: { ackDeadlineMs: 8_000, escalationStepMs: 600_000 },
        },
      },
      registry: {
        people: [
          { id: 'p-0004', name: '陈军', station: 's1', wristband: 'a-1', livesAlone: true },
          { id: 'p-0005', name: '刘洋', station: 's1', wristband: 'a-2', livesAlone: true },
        ],
      },
    });
    villages.push(v);
    await v.startCloud();
    await v.startEdge([
      {
        kind: 'fake',
        id: 'bands',
        prefix: 'a-',
        devices: 2,
        intervalMs: 300,
        metrics: [{ name: 'steps', unit: '', min: 100, max: 200 }],
      },
    ]);
    await waitFor('the bands heard', () => v.storedCount() > 10);
    const killedAt = Date.now();
    await v.edge!.kill9();
    const offline = await waitFor(
      'the edge offline incident',
      async () => (await incidents(v)).find((i) => i.kind === 'edge.offline'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(offline).toMatchObject({ subject: 'device:edge-1|edge.offline', devices: ['edge-1'] });
    await waitFor(
      'the edge offline incident to escalate (long after any band would have been silent)',
      async () => {
        const { body } = await v.api<{ incident: Incident }>(`/api/v1/incidents/${offline.id}`);
        return body.incident.escalations.length > 0;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    // (Before the edge first connected the bands were not yet heard: those warnings are older.)
    const all = (await v.api<{ alerts: { rule: string; raisedAt: number }[] }>('/api/v1/alerts?limit=100'))
      .body.alerts;
    expect(all.filter((a) => a.raisedAt >= killedAt).map((a) => a.rule)).toEqual(['edge.offline']);
    const since = (
      await v.api<{ incidents: (Incident & { openedAt: number })[] }>('/api/v1/incidents?limit=100')
    ).body.incidents;
    expect(since.filter((i) => i.openedAt >= killedAt).map((i) => i.kind)).toEqual(['edge.offline']);
  }, 90_000);

  it('the silent band of a person living alone becomes a critical incident (a warning first)', async () => {
    const v = await createVillage('silent-band', {
      cloud: {
        rules: {
          elderCare: { reportIntervalMs: 1_000, silenceFactor: 2, silenceAloneCriticalMs: 4_000 },
          incidents: { ackDeadlineMs: 600_000 },
        },
      },
      registry: {
        people: [{ id: 'p-0003', name: '王芳', station: 's1', wristband: 'band-3', livesAlone: true }],
      },
    });
    villages.push(v);
    await v.startCloud();
    const alerts = async () =>
      (await v.api<{ alerts: { rule: string; severity: string; person: string }[] }>('/api/v1/alerts')).body
        .alerts;
    const warning = await waitFor('the silence warning', async () =>
      (await alerts()).find((a) => a.rule === 'elder.device_silent'),
    );
    expect(warning).toMatchObject({ severity: 'warning', person: 'p-0003' });
    const incident = await waitFor(
      'the critical silence incident',
      async () => (await incidents(v)).find((i) => i.kind === 'elder.silent_alone'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(incident).toMatchObject({ state: 'open', person: 'p-0003', subject: 'person:p-0003' });
    expect((await alerts()).find((a) => a.rule === 'elder.silent_alone')?.severity).toBe('critical');
  }, 60_000);
});
