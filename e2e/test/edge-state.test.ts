import { type EdgeReport, type Status, encodeJson, topics } from '@village/protocol';
import { launchChromium, waitFor } from '@village/test-kit';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFICE_SCREEN, openPage } from './harness/browser.js';
import { type Village, createVillage } from './harness/village.js';

interface EdgeView {
  id: string;
  state: { report: EdgeReport; version: string } | null;
  alerts: { kind: string; raisedAt: number; clearedAt: number | null; value: number }[];
}

/** Backlog alert threshold for this test, seconds (default 900). */
const BACKLOG_S = 3;

// Issue 17: each edge reports its state on up/status; with its uplink down for a while, the cloud
// sees the backlog once it reconnects, and the backlog alert fires (then clears once drained).
describe('edge state reports (built bins)', { timeout: 120_000 }, () => {
  let v: Village;
  beforeAll(async () => {
    v = await createVillage('edge-state', { cloud: { edgeHealth: { backlogAlertS: BACKLOG_S } } });
  });
  afterAll(() => v.cleanup());

  const edges = async () => (await v.api<{ edges: EdgeView[] }>('/api/v1/edges')).body.edges;

  it('outbox depth and oldest unsent age are visible after an outage; the backlog alert fires', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 3, intervalMs: 100 }, {}, { stateReportMs: 1_000 });
    const first = await waitFor('a first state report', async () => (await edges()).find((e) => e.state));
    expect(first.state!.report.drivers).toEqual([{ id: 'fake', kind: 'fake', running: true, restarts: 0 }]);
    expect(first.state!.report.diskTotalBytes).toBeGreaterThan(0);
    expect(first.alerts).toEqual([]);

    await v.cloud!.stop();
    await waitFor(
      'the edge to see the uplink down',
      async () => (await v.edgeMetrics()).get('edge_uplink_connected') === 0,
    );
    const downAt = Date.now();
    // Wait on the edge's own figures until its backlog is older than the threshold.
    await waitFor('a backlog older than the threshold', () => Date.now() - downAt > (BACKLOG_S + 1) * 1000, {
      intervalMs: 200,
    });
    await v.startCloud();

    const behind = await waitFor('the report of the backlog', async () =>
      (await edges()).find((e) => (e.state?.report.outbox.oldestUnsentAgeS ?? 0) > BACKLOG_S),
    );
    expect(behind.state!.report.outbox.pendingReadings).toBeGreaterThan(0);
    const alert = behind.alerts.find((a) => a.kind === 'backlog');
    expect(alert).toMatchObject({ kind: 'backlog', clearedAt: null });
    expect(alert!.value).toBeGreaterThan(BACKLOG_S);
    const metrics = await (await fetch(`http://127.0.0.1:${v.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/cloud_edge_alert_active\{edge="edge-1",kind="backlog"\} 1/);

    // Drained: the next periodic report clears it, and the history keeps it.
    const drained = await waitFor('the alert to clear', async () =>
      (await edges()).find((e) => e.alerts.some((a) => a.kind === 'backlog' && a.clearedAt !== null)),
    );
    expect(drained.state!.report.outbox.oldestUnsentAgeS ?? 0).toBeLessThanOrEqual(BACKLOG_S);
  });
});

// The health view shows what the edge reported: its backlog (age · items held) and an open alert.
describe('health view with a state report (built cloud, Chromium)', { timeout: 120_000 }, () => {
  let v: Village;
  let browser: Browser;
  let edge: MqttClient;
  beforeAll(async () => {
    v = await createVillage('edge-state-view', { edgePassword: 'view-pw' });
    await v.startCloud();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await edge?.endAsync(true);
    await browser?.close();
    await v?.cleanup();
  });

  it('an edge reporting a 20-minute backlog is marked, with its age and depth', async () => {
    // A client speaking the edge's protocol (birth, then report) stands in for an edge held
    // 20 minutes behind, which the real agent would need 20 minutes to become.
    edge = await mqtt.connectAsync(`mqtt://127.0.0.1:${v.mqttPort}`, {
      clientId: 'edge-1',
      username: 'edge-1',
      password: 'view-pw',
      reconnectPeriod: 0,
    });
    const birth: Status = {
      state: 'online',
      edgeId: 'edge-1',
      boot: 1,
      ts: Date.now(),
      version: '0.1.0',
      devices: [],
    };
    await edge.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth)), {
      qos: 1,
      retain: true,
    });
    const report: Status = {
      state: 'report',
      edgeId: 'edge-1',
      boot: 1,
      ts: Date.now(),
      version: '0.1.0',
      report: {
        outbox: {
          pendingReadings: 1234,
          pendingEvents: 0,
          oldestUnsentAgeS: 20 * 60,
          bytesUsed: 1 << 20,
          droppedReadings: 0,
          diskFull: false,
        },
        drivers: [],
        diskFreeBytes: 5e9,
        diskTotalBytes: 1e10,
      },
    };
    await edge.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(report)), { qos: 1 });
    await waitFor('the report stored', async () =>
      (await v.api<{ edges: EdgeView[] }>('/api/v1/edges')).body.edges.find((e) => e.alerts.length > 0),
    );
    const { context, page } = await openPage(browser, `http://127.0.0.1:${v.httpPort}`, OFFICE_SCREEN);
    try {
      await page.goto('/#/health');
      const row = page.locator('tr[data-edge="edge-1"]');
      await row.waitFor();
      expect(await row.getAttribute('class')).toBe('bad');
      expect(await row.locator('[data-backlog]').textContent()).toBe('20分 · 1234');
    } finally {
      await context.close();
    }
  });
});
