import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createIsapiCamera, createJsonCamera } from '@village/simulators';
import { freePort, runTool, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const SERVER_ID = '34020000002000000001';
const REALM = '3402000000';
const GB_DEVICE = '34020000001320000001';
const GB_PASSWORD = 'gb-secret-1';
const sippScenario = join(
  import.meta.dirname,
  '..',
  '..',
  'device-drivers',
  'test',
  'camera-fixtures',
  'gb28181-register-alarm.xml',
);

describe('camera events → edge → cloud', () => {
  let v: Village;
  let httpPort = 0;
  let sipPort = 0;
  beforeAll(async () => {
    v = await createVillage('camera');
    await v.startCloud();
    const edge = await v.startEdge([
      // Routine telemetry to build a backlog: 100 devices x 4 metrics every 20 ms = 20,000 readings/s.
      {
        kind: 'fake',
        id: 'fake',
        prefix: 'dev-',
        devices: 100,
        intervalMs: 20,
        metrics: [
          { name: 'pm2_5', unit: 'µg/m³' },
          { name: 'pm10', unit: 'µg/m³' },
          { name: 'temperature', unit: '°C' },
          { name: 'humidity', unit: '%' },
        ],
      },
      {
        kind: 'camera',
        id: 'cameras',
        http: { port: 0, bind: '127.0.0.1' },
        sip: { port: 0, bind: '127.0.0.1', realm: REALM, serverId: SERVER_ID, password: GB_PASSWORD },
        cameras: [
          { id: 'cam-gate', auth: { type: 'digest', username: 'hik', password: 'cam-pass-1' } },
          { id: 'cam-yard', auth: { type: 'hmac', secret: 'json-camera-secret' } },
          {
            id: 'cam-gb',
            auth: { type: 'basic', username: 'gb', password: 'unused-1' },
            gbDeviceId: GB_DEVICE,
          },
        ],
      },
    ]);
    const listening = await edge.line((l) => l.msg === 'camera: listening');
    httpPort = listening.http as number;
    sipPort = listening.sip as number;
  });
  afterAll(() => v.cleanup());

  it('an ISAPI alarm with a snapshot and a JSON alarm, raised while the cloud is down, reach it ahead of the telemetry backlog', async () => {
    await waitFor('telemetry flowing', () => v.storedCount() > 5_000);
    await v.cloud!.stop();
    const storedAtOutage = v.storedCount();
    await waitFor(
      'the edge to see the uplink down',
      async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 0,
    );
    await waitFor(
      'a telemetry backlog',
      async () => (await v.edgeMetrics()).get('edge_outbox_depth_readings')! > 150_000,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    const base = `http://127.0.0.1:${httpPort}`;
    const snapshot = Buffer.from(`\xff\xd8\xff\xe0 jpeg bytes ${Date.now()}`, 'latin1');
    const isapi = createIsapiCamera({
      baseUrl: base,
      cameraId: 'cam-gate',
      auth: { type: 'digest', username: 'hik', password: 'cam-pass-1' },
    });
    expect(await isapi.alarm({ eventType: 'linedetection', snapshot })).toBe(200);
    const json = createJsonCamera({
      baseUrl: base,
      cameraId: 'cam-yard',
      auth: { type: 'hmac', secret: 'json-camera-secret' },
    });
    expect(await json.event({ type: 'smoke', zone: 'yard' })).toBe(200);
    // More telemetry piles up behind the two alarms before the cloud returns.
    const behind = (await v.edgeMetrics()).get('edge_readings_accepted_total')!;
    await waitFor(
      'telemetry accepted after the alarms',
      async () => (await v.edgeMetrics()).get('edge_readings_accepted_total')! > behind + 20_000,
    );

    await v.startCloud();
    const upAt = Date.now();
    const seen = await waitFor(
      'both camera events in the cloud',
      () => {
        const events = v.query<{ device: string; type: string; data: string }>(
          "SELECT device, type, data FROM events WHERE device IN ('cam-gate', 'cam-yard')",
        );
        if (events.length < 2) return undefined;
        return {
          events,
          oldStored: v.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings WHERE ts < ?', upAt)[0]!.n,
        };
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    await waitFor(
      'the backlog to drain',
      async () => (await v.edgeMetrics()).get('edge_outbox_batches') === 0,
      {
        timeoutMs: 120_000,
        intervalMs: 250,
      },
    );
    const oldTotal = v.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings WHERE ts < ?', upAt)[0]!.n;
    // Of the backlog (everything older than the cloud's return that it had not stored), how much
    // got in before the alarms did: at most what was in flight when the link dropped.
    const backlog = oldTotal - storedAtOutage;
    const drainedFirst = seen.oldStored - storedAtOutage;
    console.log(JSON.stringify({ camera: { backlog, drainedBeforeAlarms: drainedFirst } }));
    expect(drainedFirst).toBeLessThan(backlog / 4);
    const intrusion = seen.events.find((e) => e.device === 'cam-gate')!;
    expect(intrusion.type).toBe('intrusion');
    const data = JSON.parse(intrusion.data) as Record<string, unknown>;
    expect(Object.values(data)).toContain(createHash('sha256').update(snapshot).digest('hex'));
    expect(seen.events.find((e) => e.device === 'cam-yard')!.type).toBe('smoke');
  });

  it('SIPp registers with digest auth and sends a GB/T 28181 Alarm; the event reaches the cloud', async () => {
    const [p, mp] = [await freePort(), await freePort()];
    const r = await runTool(
      'sipp',
      [
        `127.0.0.1:${sipPort}`,
        '-sf',
        sippScenario,
        '-m',
        '1',
        '-timeout',
        '20s',
        '-nostdin',
        '-i',
        '127.0.0.1',
        '-p',
        String(p),
        '-mp',
        String(mp),
        '-s',
        GB_DEVICE,
        '-au',
        GB_DEVICE,
        '-ap',
        GB_PASSWORD,
        '-key',
        'serverid',
        SERVER_ID,
        '-key',
        'domain',
        REALM,
      ],
      { timeoutMs: 40_000, cwd: v.dir },
    );
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    await waitFor(
      'the GB/T 28181 alarm in the cloud',
      () => v.query("SELECT * FROM events WHERE device = 'cam-gb'").length > 0,
    );
    const [e] = v.query<{ type: string; severity: string }>(
      "SELECT type, severity FROM events WHERE device = 'cam-gb'",
    );
    expect(e!.type).toBe('intrusion');
  });
});
