import type { EdgeReport } from '@village/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';
import { waitFor } from './harness/wait-for.js';

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
      everyMs: 200,
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
