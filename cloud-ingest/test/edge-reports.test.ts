import { type Status, encodeJson, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScopedCloud, startScopedCloud } from './auth-cloud.js';
import { EDGE_PASSWORD } from './http-bin-cloud.js';

const GIB = 2 ** 30;
const report = (edgeId: string, freeRatio: number, ageS: number | null): Status => ({
  state: 'report',
  edgeId,
  boot: 1,
  ts: Date.now(),
  version: '0.1.0',
  report: {
    outbox: {
      pendingReadings: ageS === null ? 0 : 40,
      pendingEvents: 0,
      oldestUnsentAgeS: ageS,
      bytesUsed: 8192,
      droppedReadings: 0,
      diskFull: false,
    },
    drivers: [{ id: 'modbus-1', kind: 'modbus', running: true, restarts: 2 }],
    diskFreeBytes: freeRatio * 10 * GIB,
    diskTotalBytes: 10 * GIB,
  },
});

interface EdgeView {
  id: string;
  state: { report: { outbox: { pendingReadings: number } } } | null;
  alerts: { kind: string; clearedAt: number | null }[];
}

// Issue 17: state reports over real MQTT; GET /api/v1/edges is scoped like every route; the disk
// alert fires below the default 5 % and clears above it; a malformed report is counted and dropped.
describe('edge state reports at the cloud', { timeout: 60_000 }, () => {
  let t: ScopedCloud;
  const clients: mqtt.MqttClient[] = [];
  beforeAll(async () => {
    t = await startScopedCloud();
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await t.stop();
  });

  const send = async (edge: string, payload: unknown) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.cloud.mqttPort}`, {
      clientId: edge,
      username: edge,
      password: EDGE_PASSWORD,
      reconnectPeriod: 0,
    });
    clients.push(c);
    await c.publishAsync(topics.status(edge), Buffer.from(JSON.stringify(payload)), { qos: 1 });
  };
  const edgesOf = async (cookie: string) => (await t.get('/api/v1/edges', cookie)).body.edges as EdgeView[];

  it('a nearly full disk raises the disk alert, a freed one clears it; each officer sees only their edges', async () => {
    const admin = await t.login('admin');
    await send('edge-a', report('edge-a', 0.02, 12));
    await send('edge-b', report('edge-b', 0.5, null));
    const a = await waitFor('edge-a state', async () =>
      (await edgesOf(admin)).find((e) => e.id === 'edge-a' && e.state),
    );
    expect(a.alerts).toEqual([expect.objectContaining({ kind: 'disk', clearedAt: null })]);
    expect(a.state!.report.outbox.pendingReadings).toBe(40);

    const villageB = await t.login('villageB');
    await waitFor('edge-b state', async () => (await edgesOf(admin)).find((e) => e.id === 'edge-b')?.state);
    expect((await edgesOf(villageB)).map((e) => e.id)).toEqual(['edge-b']);
    expect((await edgesOf(await t.login('town1'))).map((e) => e.id).sort()).toEqual(['edge-a', 'edge-b']);

    await send('edge-a', report('edge-a', 0.4, null));
    await waitFor(
      'disk alert cleared',
      async () => (await edgesOf(admin)).find((e) => e.id === 'edge-a')?.alerts[0]?.clearedAt,
    );
    const metrics = await t.cloud.metrics.registry.metrics();
    expect(metrics).toContain('cloud_edge_alert_active{edge="edge-a",kind="disk"} 0');
    expect(metrics).toContain('cloud_edge_alerts_raised_total{kind="disk"} 1');
  });

  it('a malformed report is counted and dropped, the last good state stays', async () => {
    const bad = { ...report('edge-c', 0.5, 3), report: { outbox: 'full' } };
    await send('edge-c', bad);
    await waitFor(
      'malformed counted',
      async () =>
        (await t.cloud.metrics.registry.metrics()).includes('result="bad_shape",state="malformed"') ||
        (await t.cloud.metrics.registry.metrics()).includes('state="malformed",result="bad_shape"'),
    );
    const admin = await t.login('admin');
    expect((await edgesOf(admin)).find((e) => e.id === 'edge-c')?.state).toBeNull();
  });
});
