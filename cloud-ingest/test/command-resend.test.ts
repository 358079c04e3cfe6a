import { LIMITS, type Status, encodeJson, topics } from '@village/protocol';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCloud, counterValue, startTestCloud } from './cloud-fixture.js';

const birth = (boot: number): Status => ({
  state: 'online',
  edgeId: 'edge-1',
  boot,
  ts: Date.now(),
  version: '0.1.0',
  devices: [],
});

/**
 * Commands still waiting for a result are resent at each birth (cloud.ts). One whose message is
 * over the edge's limit (LIMITS.maxControlBytes; the edge refuses it unread and never answers)
 * fails once with a reason instead of being resent at every birth until it expires.
 * Real cloud, a real MQTT client as the edge.
 */
describe('command resend at birth', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  }, 60_000);
  afterAll(() => t?.stop());

  it('a command over the edge limit fails with too_large once; a normal one is resent', async () => {
    const insert = t.cloud.db.prepare(
      `INSERT INTO commands (id, edge, device, action, params, created_at, expires_at, state)
       VALUES (?, 'edge-1', 'siren-1', 'set', ?, ?, ?, 'sent')`,
    );
    const now = Date.now();
    // Stored before the API bounded params (or by another tool): too large for any edge.
    insert.run('big', JSON.stringify({ text: 'x'.repeat(LIMITS.maxControlBytes) }), now - 2, now + 3_600_000);
    insert.run('small', JSON.stringify({ on: true }), now - 1, now + 3_600_000);

    const edge = await t.connectEdge('edge-1');
    const got: string[] = [];
    edge.on('message', (topic, payload) => {
      if (topic === topics.cmd('edge-1')) got.push((JSON.parse(payload.toString()) as { id: string }).id);
    });
    await edge.subscribeAsync(topics.cmd('edge-1'), { qos: 1 });
    for (const boot of [1, 2]) {
      await edge.publishAsync(topics.status('edge-1'), Buffer.from(encodeJson(birth(boot))), { qos: 1 });
      await waitFor(
        `the small command resent after birth ${boot}`,
        () => got.filter((id) => id === 'small').length === boot,
      );
    }
    expect(got).toEqual(['small', 'small']);
    const big = t.cloud.db.prepare("SELECT state, error FROM commands WHERE id = 'big'").get() as {
      state: string;
      error: string;
    };
    expect(big.state).toBe('error');
    expect(big.error).toMatch(/^too_large: the command is \d+ bytes, an edge takes at most 262144/);
    expect(await counterValue(t.cloud.metrics.commandResults, { result: 'too_large' })).toBe(1);
    await edge.endAsync();
  }, 60_000);
});
