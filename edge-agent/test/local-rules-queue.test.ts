import type { Command, CommandResult, DeviceEvent } from '@village/protocol';
import { createLogger } from '@village/service-kit';
import { waitFor } from '@village/test-kit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { localRulesSchema } from '../src/local-rules/local-rules-config.js';
import { startLocalRules } from '../src/local-rules/local-rules.js';

/**
 * How actions stay off the ingest path. The command and report callbacks here are stand-ins on
 * purpose: the point is a device that never answers, which is what they model (the real Modbus
 * and outbox paths are exercised in local-rules-siren.test.ts).
 */
const sos = (n: number): DeviceEvent => ({
  device: 'band-1',
  type: 'sos',
  severity: 'critical',
  ts: n,
  data: {},
});

function setup(command: (cmd: Command) => Promise<CommandResult>) {
  const registry = new Registry();
  const reported: DeviceEvent[] = [];
  const rules = startLocalRules({
    rules: localRulesSchema.parse([
      {
        id: 'sos',
        trigger: { events: ['sos'], cooldownMs: 0 },
        actions: [
          { command: { device: 'siren-1', action: 'write', params: { point: 'siren', value: true } } },
        ],
      },
    ]),
    edgeId: 'edge-1',
    command,
    report: async (e) => {
      reported.push(e);
    },
    registry,
    log: createLogger('silent', 'test'),
    now: Date.now,
    concurrency: 1,
    maxQueued: 1,
  });
  const count = async (result: string) =>
    (await registry.getSingleMetric('edge_local_rule_actions_total')!.get()).values.find(
      (v) => v.labels.result === result,
    )?.value ?? 0;
  return { rules, reported, count };
}

describe('local rule actions run beside ingest', () => {
  it('judging returns before any action code runs; a hung device fills the queue and the overflow is dropped and reported', async () => {
    const calls: Command[] = [];
    const { rules, reported, count } = setup((cmd) => {
      calls.push(cmd);
      return new Promise(() => {}); // a relay module that never answers
    });
    rules.observeEvent(sos(1));
    expect(calls).toHaveLength(0); // the emit path returned first; the command starts on a later tick
    await waitFor('the first command running', () => calls.length === 1);
    rules.observeEvent(sos(2)); // waits in the queue (concurrency 1)
    rules.observeEvent(sos(3)); // queue full: dropped
    expect(await count('dropped')).toBe(1);
    await waitFor('the drop reported', () => reported.length === 1);
    expect(reported[0]).toMatchObject({
      device: 'edge-1',
      type: 'local_action',
      severity: 'warning',
      data: { rule: 'sos', ok: false, error: 'action queue full', attempts: 0 },
    });
    // Stopping abandons the hung try at once rather than waiting for its timeout.
    const t0 = Date.now();
    await rules.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(calls).toHaveLength(1);
    expect(reported).toHaveLength(1);
  }, 20_000);

  it('a try that hangs past timeoutMs is abandoned and the next try runs with a fresh command id', async () => {
    const calls: Command[] = [];
    const registry = new Registry();
    const reported: DeviceEvent[] = [];
    const rules = startLocalRules({
      rules: localRulesSchema.parse([
        {
          id: 'sos',
          trigger: { events: ['sos'] },
          actions: [
            {
              command: { device: 'siren-1', action: 'write', params: { point: 'siren', value: true } },
              timeoutMs: 100,
              backoffMs: 10,
              maxAttempts: 3,
            },
          ],
        },
      ]),
      edgeId: 'edge-1',
      command: async (cmd) => {
        calls.push(cmd);
        if (calls.length === 1) return new Promise(() => {});
        return { id: cmd.id, ok: true, ts: Date.now() };
      },
      report: async (e) => {
        reported.push(e);
      },
      registry,
      log: createLogger('silent', 'test'),
      now: Date.now,
    });
    rules.observeEvent(sos(1));
    await waitFor('the outcome', () => reported.length === 1);
    expect(reported[0]!.data).toMatchObject({ ok: true, attempts: 2 });
    expect(calls.map((c) => c.id.split('.').pop())).toEqual(['1', '2']);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    await rules.stop();
  }, 20_000);
});
