import net from 'node:net';
import type { Driver } from '@village/device-drivers';
import {
  loadProfileFile,
  modbusConfigSchema,
  modbusDriverKind,
  shippedProfilePath,
} from '@village/device-drivers/modbus';
import { waitFor } from '@village/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type TcpSimulator, driveSlave, scriptValues, startTcpSimulator } from '../src/modbus/index.js';
import { type RecordingContext, latest, recordingContext } from './modbus-helpers.js';

/** The driver over Modbus TCP against our TCP simulator, answering for several unit ids. */
const profile = (name: string) => loadProfileFile(shippedProfilePath(name));

describe('Modbus TCP: driver against the simulator', () => {
  let sim: TcpSimulator | undefined;
  let driver: Driver | undefined;
  let ctx: RecordingContext | undefined;
  const stops: (() => void)[] = [];

  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    await driver?.stop();
    ctx?.abort();
    await sim?.stop();
    driver = undefined;
    sim = undefined;
  });

  async function start(port = 0) {
    sim = await startTcpSimulator({
      port,
      slaves: [
        { unitId: 1, profile: profile('pm25-sensor') },
        { unitId: 2, profile: profile('water-probe') },
        { unitId: 3, profile: profile('weather-station') },
      ],
    });
    const config = modbusConfigSchema.parse({
      transport: { type: 'tcp', host: '127.0.0.1', port: sim.port },
      timeoutMs: 500,
      retries: 1,
      backoffMs: 50,
      devices: [
        { id: 'pm-1', unitId: 1, profile: 'pm25-sensor', intervalMs: 100 },
        { id: 'water-1', unitId: 2, profile: 'water-probe', intervalMs: 100 },
        { id: 'wx-1', unitId: 3, profile: 'weather-station', intervalMs: 100 },
      ],
    });
    driver = modbusDriverKind.create(config, { id: 'modbus-tcp', configDir: '.' });
    ctx = recordingContext();
    return { config, c: ctx };
  }

  it('reads the steady script of every profile', { timeout: 30_000 }, async () => {
    const { c } = await start();
    for (const s of sim!.slaves.values()) stops.push(driveSlave(s, 'steady', { tickMs: 50 }));
    await driver!.start(c);
    await waitFor(
      'readings from every unit',
      () =>
        latest(c.readings, 'pm-1', 'pm2_5') &&
        latest(c.readings, 'water-1', 'cod') &&
        latest(c.readings, 'wx-1', 'illuminance'),
    );
    for (const [id, unit] of [
      ['pm-1', 1],
      ['water-1', 2],
      ['wx-1', 3],
    ] as const) {
      const expected = scriptValues('steady', sim!.slaves.get(unit)!.image.profile, 0);
      for (const [point, value] of Object.entries(expected)) {
        const r = latest(c.readings, id, point)!;
        expect(r, `${id} ${point}`).toMatchObject({ quality: 'good' });
        if (typeof value === 'number') expect(r.value as number, `${id} ${point}`).toBeCloseTo(value, 6);
        else expect(r.value, `${id} ${point}`).toEqual(value);
      }
    }
    expect(driver!.inventory().map((d) => [d.id, d.kind])).toEqual([
      ['pm-1', 'air-quality'],
      ['water-1', 'water-quality'],
      ['wx-1', 'weather'],
    ]);
  });

  it('follows a pollution episode driven by the script', { timeout: 30_000 }, async () => {
    const { c } = await start();
    stops.push(driveSlave(sim!.slaves.get(1)!, 'pollution-episode', { episodeMs: 2000, tickMs: 50 }));
    await driver!.start(c);
    const peak = await waitFor('pm2_5 near the episode peak', () =>
      c.readings.find((r) => r.device === 'pm-1' && r.metric === 'pm2_5' && (r.value as number) >= 250),
    );
    expect(peak.quality).toBe('good');
    await waitFor('pm2_5 back to its baseline', () =>
      c.readings.find((r) => r.device === 'pm-1' && r.metric === 'pm2_5' && r.ts > peak.ts && r.value === 28),
    );
  });

  it(
    'goes offline when the gateway vanishes and online when it is back on the same port',
    { timeout: 40_000 },
    async () => {
      const { c } = await start();
      const port = sim!.port;
      await driver!.start(c);
      await waitFor('first readings', () => latest(c.readings, 'pm-1', 'pm2_5'));
      await sim!.stop();
      await waitFor('offline events for all three', () =>
        ['pm-1', 'water-1', 'wx-1'].every((d) =>
          c.events.some((e) => e.device === d && e.type === 'offline'),
        ),
      );
      expect(c.events.filter((e) => e.type === 'offline')).toHaveLength(3);
      sim = await startTcpSimulator({ port, slaves: [{ unitId: 1, profile: profile('pm25-sensor') }] });
      await waitFor('pm-1 online again', () =>
        c.events.find((e) => e.device === 'pm-1' && e.type === 'online'),
      );
      // Units 2 and 3 are now answered by the gateway with exception 0x0B: answered, so online, but bad.
      const bad = await waitFor('water-1 bad', () =>
        c.readings.find((r) => r.device === 'water-1' && r.quality === 'bad'),
      );
      expect(bad.value).toBe('GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND');
      expect(c.failures).toEqual([]);
    },
  );

  it(
    'the simulator drops a connection that sends garbage and keeps serving others',
    { timeout: 30_000 },
    async () => {
      const { c } = await start();
      await driver!.start(c);
      const sock = net.connect(sim!.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const closed = new Promise((r) => sock.once('close', r));
      sock.write(Buffer.from([0, 1, 0xde, 0xad, 0, 6, 1, 3, 0, 0, 0, 1])); // protocol id must be 0
      await closed;
      expect(sim!.badFrames).toBe(1);
      const before = c.readings.length;
      await waitFor('polling continues', () => c.readings.length > before + 10);
    },
  );
});
