import { loadProfileFile, shippedProfilePath } from '@village/device-drivers/modbus';
import { type PtyPair, type RtuBusSimulator, openPtyPair, startRtuBusSimulator } from '@village/simulators';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

interface Latest {
  device: string;
  metric: string;
  value: number | boolean | string;
  quality: string;
}

/**
 * RS-485 for real: a socat pty pair, three simulated slaves on one bus, the edge's Modbus driver
 * polling them, the readings in the cloud, and a siren command from the cloud API to the relay coil.
 */
describe('Modbus RTU bus → edge → cloud', () => {
  let v: Village;
  let pty: PtyPair;
  let bus: RtuBusSimulator;
  const profile = (name: string) => loadProfileFile(shippedProfilePath(name));

  beforeAll(async () => {
    v = await createVillage('modbus');
    pty = await openPtyPair();
    bus = await startRtuBusSimulator({
      path: pty.b,
      slaves: [
        { unitId: 1, profile: profile('pm25-sensor') },
        { unitId: 2, profile: profile('water-probe') },
        { unitId: 3, profile: profile('siren-relay') },
      ],
    });
  });
  afterAll(async () => {
    await v.cleanup();
    await bus?.stop();
    await pty?.close();
  });

  it('polls three slaves on one bus; their values reach the cloud; a siren command switches the coil', async () => {
    const pm = bus.slaves.get(1)!.image;
    const water = bus.slaves.get(2)!.image;
    const relay = bus.slaves.get(3)!.image;
    pm.set('pm2_5', 187);
    pm.set('temperature', -3.5);
    pm.set('uptime', 70_000); // u32, word order CDAB
    water.set('ph', 7.25); // f32, CDAB
    water.set('nh3_n', 0.5);
    relay.set('siren', false);
    relay.set('mains_power', true);

    await v.startCloud();
    await v.startEdge([
      {
        kind: 'modbus',
        id: 'rs485',
        transport: { type: 'rtu', path: pty.a, baudRate: 9600, gapMs: 5 },
        timeoutMs: 500,
        devices: [
          { id: 'pm-1', unitId: 1, profile: 'pm25-sensor', intervalMs: 200 },
          { id: 'water-1', unitId: 2, profile: 'water-probe', intervalMs: 200 },
          { id: 'siren-1', unitId: 3, profile: 'siren-relay', intervalMs: 200 },
        ],
      },
    ]);

    const value = async (device: string, metric: string) => {
      const { body } = await v.api<{ latest: Latest[] }>(`/api/v1/latest?device=${device}`);
      return body.latest.find((l) => l.metric === metric);
    };
    await waitFor(
      "every slave's readings in the cloud",
      async () =>
        (await value('pm-1', 'pm2_5'))?.value === 187 &&
        (await value('water-1', 'ph')) !== undefined &&
        (await value('siren-1', 'mains_power'))?.value === true,
    );
    expect((await value('pm-1', 'temperature'))?.value).toBe(-3.5);
    expect((await value('pm-1', 'uptime'))?.value).toBe(70_000);
    expect((await value('water-1', 'ph'))?.value).toBe(7.25);
    expect((await value('water-1', 'nh3_n'))?.value).toBe(0.5);
    expect((await value('pm-1', 'pm2_5'))?.quality).toBe('good');

    const sent = await v.api<{ command: { id: string } }>('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'siren-1', action: 'write', params: { point: 'siren', value: true } }),
    });
    expect(sent.status).toBe(202);
    const done = await waitFor('the command result', async () => {
      const { body } = await v.api<{ command: { state: string; error: string | null } }>(
        `/api/v1/commands/${sent.body.command.id}`,
      );
      return body.command.state !== 'sent' ? body.command : undefined;
    });
    expect(done).toMatchObject({ state: 'ok', error: null });
    expect(relay.get('siren')).toBe(true);
    // the new coil state is polled back and reported
    await waitFor(
      'the siren state in the cloud',
      async () => (await value('siren-1', 'siren'))?.value === true,
    );

    const refused = await v.api<{ command: { id: string } }>('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'pm-1', action: 'write', params: { point: 'pm2_5', value: 1 } }),
    });
    const failed = await waitFor('the refused command result', async () => {
      const { body } = await v.api<{ command: { state: string; error: string | null } }>(
        `/api/v1/commands/${refused.body.command.id}`,
      );
      return body.command.state !== 'sent' ? body.command : undefined;
    });
    expect(failed.state).toBe('error');
    expect(failed.error).toMatch(/writable/);
  });

  it('a command sent while the edge is away is delivered when it reconnects, and runs once', async () => {
    const relay = bus.slaves.get(3)!;
    const edgeConfig = v.edge!;
    await edgeConfig.stop();
    const writesBefore = relay.writes.length;
    const sent = await v.api<{ command: { id: string } }>('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        device: 'siren-1',
        action: 'write',
        params: { point: 'strobe', value: true },
        ttlMs: 120_000,
      }),
    });
    expect(sent.status).toBe(202);
    await v.restartEdge();
    const done = await waitFor('the command result after the reconnect', async () => {
      const { body } = await v.api<{ command: { state: string } }>(
        `/api/v1/commands/${sent.body.command.id}`,
      );
      return body.command.state !== 'sent' ? body.command : undefined;
    });
    expect(done.state).toBe('ok');
    expect(relay.image.get('strobe')).toBe(true);
    expect(
      relay.writes.slice(writesBefore).filter((w) => w.table === 'coil' && w.address === 1),
    ).toHaveLength(1);
  });
});
