import { startWebhookReceiver, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

const SECRET = 'restart-test-secret';
const ACK_DEADLINE_MS = 20_000;

interface Incident {
  id: string;
  state: string;
  deadline: number | null;
  level: string;
  escalations: { level: string; at: number; dueAt: number }[];
}

/**
 * A real cloud process with a 20 s acknowledgement deadline is killed (SIGKILL) 10 s before the
 * deadline of an open incident and started again: the escalation must still fire at the
 * deadline, within a second, and reach the webhook.
 */
describe('incident deadline across a cloud crash', () => {
  let v: Village;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  afterAll(async () => {
    await v?.cleanup();
    await hook?.close();
  });

  it('escalates at the deadline after kill -9 and restart, and notifies the webhook', async () => {
    hook = await startWebhookReceiver(SECRET);
    v = await createVillage('incident-restart', {
      cloud: {
        rules: { incidents: { ackDeadlineMs: ACK_DEADLINE_MS } },
        notify: { webhooks: [{ id: 'ops', url: hook.url, secret: SECRET, backoffMs: 200 }] },
      },
    });
    await v.startCloud();
    // The fake driver reports an SOS (critical) from dev-0 every second.
    await v.startEdge({ devices: 1, intervalMs: 1_000, eventEveryMs: 1_000 });

    const opened = await waitFor(
      'an open incident',
      async () => (await v.api<{ incidents: Incident[] }>('/api/v1/incidents?state=open')).body.incidents[0],
      { timeoutMs: 30_000 },
    );
    const deadline = opened.deadline!;
    expect(deadline).toBeGreaterThan(Date.now());
    await waitFor('opened webhook', () => hook.got.some((h) => h.body.reason === 'opened'));

    // Wait (on the clock, bounded) until 10 s before the deadline, then crash the cloud.
    await waitFor('deadline - 10 s', () => Date.now() >= deadline - 10_000, { timeoutMs: 30_000 });
    await v.cloud!.kill9();
    expect(Date.now()).toBeLessThan(deadline - 5_000);
    await v.startCloud();

    const escalated = await waitFor(
      'escalation',
      async () => {
        const r = await v.api<{ incident: Incident }>(`/api/v1/incidents/${opened.id}`);
        return r.body.incident.escalations.length > 0 ? r.body.incident : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const e = escalated.escalations[0]!;
    expect(e.level).toBe('town');
    expect(e.dueAt).toBe(deadline);
    expect(e.at).toBeGreaterThanOrEqual(deadline);
    expect(e.at - deadline).toBeLessThan(1_000);
    expect(escalated.level).toBe('town');

    const delivered = await waitFor(
      'escalation webhook',
      () => hook.got.find((h) => h.body.reason === 'escalated' && h.body.level === 'town'),
      { timeoutMs: 20_000 },
    );
    expect(delivered.signed).toBe(true);
    expect(delivered.body).toMatchObject({ incidentId: opened.id, place: 't1', village: 'v1' });
    expect(delivered.at - deadline).toBeLessThan(5_000);
  }, 120_000);
});
