import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { type TcpSimulator, startTcpSimulator } from '@village/simulators';
import { fetchMetrics, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EDGE_BIN, type Proc, startProc } from './harness/processes.js';
import { type Village, createVillage } from './harness/village.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

/**
 * The built edge bin with an edge-local rule, started while the cloud is down: an SOS from the
 * fake driver (one every 300 ms) switches the siren coil of the Modbus relay simulator over TCP
 * once, with no cloud anywhere. When the cloud comes up, the edge's `local_action` event, kept
 * in its outbox's event lane, reaches the cloud's store.
 */
describe('edge-local siren with the cloud down, reported once the cloud is back', () => {
  let v: Village;
  let sim: TcpSimulator;
  let edge: Proc | undefined;

  afterAll(async () => {
    await edge?.stop();
    await v?.cleanup();
    await sim?.stop();
  });

  it('sounds the siren once, then delivers the local_action event to the cloud', async () => {
    v = await createVillage('edge-local-siren', { edgePassword: PASSWORD });
    sim = await startTcpSimulator({
      slaves: [{ unitId: 1, profile: loadProfileFile(shippedProfilePath('siren-relay')) }],
    });
    const dir = join(v.dir, 'edge-local');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'edge.yaml');
    writeFileSync(
      config,
      stringify({
        edgeId: 'edge-1',
        dataDir: './data',
        cloud: {
          url: `mqtt://127.0.0.1:${v.mqttPort}`,
          password: '${EDGE_PASSWORD}',
          reconnectMinMs: 100,
          reconnectMaxMs: 500,
        },
        outbox: { batchMaxAgeMs: 200, synchronous: 'normal' },
        health: { host: '127.0.0.1', port: 0 },
        drivers: [
          { kind: 'fake', id: 'fake', prefix: 'band-', devices: 1, intervalMs: 1_000, eventEveryMs: 300 },
          {
            kind: 'modbus',
            id: 'relay-bus',
            transport: { type: 'tcp', host: '127.0.0.1', port: sim.port },
            timeoutMs: 500,
            devices: [{ id: 'siren-1', unitId: 1, profile: 'siren-relay', intervalMs: 500 }],
          },
        ],
        localRules: [
          {
            id: 'sos-siren',
            trigger: { events: ['sos'], cooldownMs: 600_000 },
            actions: [
              {
                command: { device: 'siren-1', action: 'write', params: { point: 'siren', value: true } },
                backoffMs: 100,
              },
            ],
          },
        ],
      }),
    );
    edge = startProc(EDGE_BIN, ['--config', config], join(v.dir, 'edge-local.log'), {
      EDGE_PASSWORD: PASSWORD,
    });
    const ready = await edge.line((l) => l.msg === 'edge ready');
    const metrics = () => fetchMetrics(`http://127.0.0.1:${ready.healthPort}/metrics`);

    const relay = sim.slaves.get(1)!;
    await waitFor('the siren coil on', () => relay.image.get('siren') === true, { timeoutMs: 30_000 });
    // Several more SOS arrive (the fake repeats every 300 ms); the cooldown keeps the siren to one write.
    await waitFor(
      'five SOS events stored (plus the local_action)',
      async () => ((await metrics()).get('edge_events_accepted_total') ?? 0) >= 6,
    );
    const m = await metrics();
    expect(m.get('edge_uplink_connected')).toBe(0);
    expect(m.get('edge_local_rule_firings_total{rule="sos-siren",phase="raise"}')).toBe(1);
    expect(m.get('edge_local_rule_actions_total{rule="sos-siren",result="ok"}')).toBe(1);
    expect(relay.writes.filter((w) => w.table === 'coil' && w.address === 0)).toEqual([
      { table: 'coil', address: 0, values: [true] },
    ]);
    expect(edge.lines.some((l) => l.msg === 'local rule action done' && l.rule === 'sos-siren')).toBe(true);

    // The cloud comes up: the outcome, waiting in the outbox, is delivered and stored.
    await v.startCloud();
    const stored = await waitFor(
      'the local_action event in the cloud',
      () =>
        v.query<{ device: string; severity: string; data: string; historical: number }>(
          "SELECT device, severity, data, historical FROM events WHERE type = 'local_action'",
        )[0],
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(stored).toMatchObject({ device: 'edge-1', severity: 'info' });
    expect(JSON.parse(stored.data)).toMatchObject({
      rule: 'sos-siren',
      action: 'command',
      target: 'siren-1',
      ok: true,
      trigger: 'sos',
      source: 'band-1',
    });
  }, 120_000);
});
