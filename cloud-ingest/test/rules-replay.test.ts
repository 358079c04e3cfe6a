import type { DeviceEvent } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView } from '../src/rules-runtime/rules-store.js';
import { T0, collectAcks, makeBatch, publishBatch, waitForAck } from './cloud-fixture.js';
import { startRulesCloud } from './rules-test-cloud.js';

const RULES = { enabled: true, incidents: { ackDeadlineMs: 600_000 } };

/**
 * A smoke event committed by the ingest but never seen by the rules (the process died between the
 * sink's commit and the rules' state write) must raise its alert when the rules catch up on start.
 *
 * The crash window is made deterministic with real restarts: the rules state is written (cursor at
 * the last event), then the cloud runs with rules disabled while the event is committed and acked,
 * which leaves exactly what such a crash leaves: an event row after the rules' cursor. The smoke
 * detector is in no registry or rules config, so only learning it from its edge's station (as the
 * live path does) lets the replay judge it.
 */
describe('rules replay after a crash between commit and rules', () => {
  let t: Awaited<ReturnType<typeof startRulesCloud>>;
  beforeAll(async () => {
    t = await startRulesCloud({ rules: RULES });
  }, 60_000);
  afterAll(() => t?.stop());

  it('a smoke event committed before the rules saw it raises the smoke alert on replay', async () => {
    // First run: the rules write their state (the cursor), then the cloud stops.
    await t.restart({ rules: { ...RULES, enabled: false } });
    const edge = await t.connectEdge();
    const acks = await collectAcks(edge, 'edge-1');
    const smoke: DeviceEvent = { device: 'smoke-9', type: 'smoke', severity: 'critical', ts: T0, data: {} };
    await publishBatch(edge, 'edge-1', makeBatch('edge-1', 1, 0, { events: [smoke] }));
    await waitForAck(acks, 1);
    await edge.endAsync(true);

    await t.restart({ rules: RULES });
    const alert = await waitFor('the replayed smoke alert', async () =>
      (await t.api<{ alerts: AlertView[] }>('/api/v1/alerts?rule=event.smoke')).body.alerts.find(
        (a) => a.device === 'smoke-9',
      ),
    );
    expect(alert).toMatchObject({ state: 'active', village: 'v1', station: 's1', severity: 'critical' });
    expect(t.logs.some((l) => l.msg === 'rules: fed committed events the engine had not seen')).toBe(true);
  }, 60_000);
});
