import type { DriverContext, DriverKind } from '@village/device-drivers';
import { createLogger } from '@village/service-kit';
import { waitFor } from '@village/test-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createEdgeMetrics } from '../src/metrics.js';
import { startSupervisor } from '../src/supervisor.js';

/** A driver kind built for the test: it fails its first starts on demand and counts commands. */
function testKind(state: { failStarts: number; starts: number; commands: string[] }): DriverKind {
  return {
    kind: 'test',
    configSchema: z.object({}),
    create: () => ({
      inventory: () => [{ id: 'relay-1', kind: 'relay', driver: 'test', metrics: [] }],
      async start(_ctx: DriverContext) {
        state.starts++;
        if (state.failStarts-- > 0) throw new Error('port vanished');
      },
      async stop() {},
      async command(cmd) {
        state.commands.push(cmd.id);
        if (cmd.action === 'typed_fail')
          throw Object.assign(new Error('valve jammed'), { code: 'valve_jammed' });
        if (cmd.action === 'untyped_fail') throw new Error('something broke');
        return { done: true };
      },
    }),
  };
}

function start(state: Parameters<typeof testKind>[0]) {
  const metrics = createEdgeMetrics(() => undefined);
  const sup = startSupervisor({
    drivers: [{ kind: 'test', id: 'd1', config: {} }],
    kinds: new Map([['test', testKind(state)]]),
    configDir: '.',
    context: () => ({}) as DriverContext,
    log: createLogger('silent', 'test'),
    metrics,
    restartMinMs: 10,
    restartMaxMs: 40,
  });
  return { sup, metrics };
}

describe('driver supervisor', () => {
  it('restarts a driver that fails to start, with backoff, and counts it', async () => {
    const state = { failStarts: 2, starts: 0, commands: [] as string[] };
    const { sup, metrics } = start(state);
    await waitFor('the third start', () => state.starts === 3);
    const restarts = (await metrics.driverRestarts.get()).values[0]?.value;
    expect(restarts).toBe(2);
    await waitFor('the driver up', async () => (await metrics.driverUp.get()).values[0]?.value === 1);
    await sup.stop();
  });

  it('runs a resent command id once and answers the repeat with the first outcome', async () => {
    const state = { failStarts: 0, starts: 0, commands: [] as string[] };
    const { sup } = start(state);
    let probe = 0;
    await waitFor(
      'the driver running',
      async () =>
        (await sup.command({ id: `probe-${probe++}`, device: 'relay-1', action: 'x', params: {} })).ok,
    );
    const a = await sup.command({ id: 'c-1', device: 'relay-1', action: 'write', params: { value: true } });
    const b = await sup.command({ id: 'c-1', device: 'relay-1', action: 'write', params: { value: true } });
    expect(a).toEqual(b);
    expect(state.commands.filter((id) => id === 'c-1')).toHaveLength(1);
    const unknown = await sup.command({ id: 'c-2', device: 'nobody', action: 'write', params: {} });
    expect(unknown).toMatchObject({ ok: false, error: 'no driver serves device nobody' });
    const expired = await sup.command({
      id: 'c-3',
      device: 'relay-1',
      action: 'write',
      params: {},
      expiresAt: 1,
    });
    expect(expired.ok).toBe(false);
    await sup.stop();
  });

  it("keeps a driver's typed error code in the result; the edge's own refusals and untyped errors get one too", async () => {
    const state = { failStarts: 0, starts: 0, commands: [] as string[] };
    const { sup } = start(state);
    let probe = 0;
    await waitFor(
      'the driver running',
      async () =>
        (await sup.command({ id: `probe-${probe++}`, device: 'relay-1', action: 'x', params: {} })).ok,
    );
    const run = (id: string, action: string, device = 'relay-1', expiresAt?: number) =>
      sup.command({ id, device, action, params: {}, ...(expiresAt ? { expiresAt } : {}) });
    expect(await run('t-1', 'typed_fail')).toMatchObject({
      ok: false,
      code: 'valve_jammed',
      error: 'valve jammed',
    });
    expect(await run('t-2', 'untyped_fail')).toMatchObject({
      ok: false,
      code: 'driver_error',
      error: 'something broke',
    });
    expect(await run('t-3', 'write', 'nobody')).toMatchObject({ ok: false, code: 'unknown_device' });
    expect(await run('t-4', 'write', 'relay-1', 1)).toMatchObject({ ok: false, code: 'command_expired' });
    expect((await run('t-5', 'write')).code).toBeUndefined();
    await sup.stop();
  });
});
