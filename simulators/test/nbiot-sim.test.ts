// Test-only: the simulator is checked against the real edge driver (src never imports it).
import { type NbiotDriver, createNbiotDriver, nbiotConfigSchema } from '@village/device-drivers/nbiot';
import type { DeviceEvent, Reading } from '@village/protocol';
import { recordingDriverContext } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNbiotDevice } from '../src/nbiot/index.js';

const KEY = '3f'.repeat(16);
const recording = recordingDriverContext<Reading, DeviceEvent>('nbiot-sim-test');
const { readings, events, errors } = recording;
let driver: NbiotDriver;

beforeAll(async () => {
  driver = createNbiotDriver(
    nbiotConfigSchema.parse({
      port: 0,
      bind: '127.0.0.1',
      devices: [
        { id: 'sim-smoke', imei: '861000000000001', key: KEY, codec: 'smoke-detector' },
        { id: 'sim-band', imei: '861000000000002', key: KEY, codec: 'wristband' },
        { id: 'sim-well', imei: '861000000000003', key: KEY, codec: 'well-cover' },
      ],
    }),
  );
  await driver.start(recording.context);
});

afterAll(async () => {
  await driver.stop();
});

describe('NB-IoT device simulator against the edge driver', () => {
  it(
    'a wristband reports, a command rides on the answer, and the next report confirms it',
    { timeout: 30_000 },
    async () => {
      const executed: string[] = [];
      const band = createNbiotDevice({
        host: '127.0.0.1',
        port: driver.port(),
        imei: '861000000000002',
        keyHex: KEY,
        codec: 'wristband',
        onCommand: (c) => {
          executed.push(`${c.action}:${c.params.minutes}`);
          return undefined;
        },
      });
      expect(
        (await band.report({ worn: true, fall: false, sos: true, heart_rate: 80, steps: 10, battery: 90 }))
          .code,
      ).toBe('2.04');
      expect(events).toContainEqual(expect.objectContaining({ device: 'sim-band', type: 'sos' }));

      const done = driver.command({
        id: 'int-1',
        device: 'sim-band',
        action: 'set_interval',
        params: { minutes: 15 },
      });
      const answer = await band.report({
        worn: true,
        fall: false,
        sos: false,
        heart_rate: 81,
        steps: 20,
        battery: 90,
      });
      expect(answer.command).toEqual({ id: 'int-1', action: 'set_interval', params: { minutes: 15 } });
      expect(executed).toEqual(['set_interval:15']);
      await band.report({ worn: true, fall: false, sos: false, heart_rate: 82, steps: 30, battery: 89 });
      await expect(done).resolves.toMatchObject({ delivered: true });
      expect(
        readings.filter((r) => r.device === 'sim-band' && r.metric === 'steps').map((r) => r.value),
      ).toEqual([10, 20, 30]);
    },
  );

  it(
    'a smoke detector (JSON envelope) raises smoke once; its replayed uplink is refused',
    { timeout: 30_000 },
    async () => {
      const smoke = createNbiotDevice({
        host: '127.0.0.1',
        port: driver.port(),
        imei: '861000000000001',
        keyHex: KEY,
        codec: 'smoke-detector',
        format: 'json',
      });
      const alarm = {
        alarm: true,
        self_test: false,
        fault: false,
        smoke_density: 1.5,
        temperature: 30,
        battery: 70,
      };
      expect((await smoke.report(alarm)).code).toBe('2.04');
      expect((await smoke.report(alarm)).code).toBe('2.04');
      expect(events.filter((e) => e.device === 'sim-smoke' && e.type === 'smoke')).toHaveLength(1);
      const replay = await smoke.sendRaw(smoke.lastBody()!);
      expect(replay.code).toBe('4.03');
      expect(errors).toContain('nbiot_replay');
    },
  );

  it('a well cover with a wrong key is refused 4.01', { timeout: 30_000 }, async () => {
    const well = createNbiotDevice({
      host: '127.0.0.1',
      port: driver.port(),
      imei: '861000000000003',
      keyHex: 'aa'.repeat(16),
      codec: 'well-cover',
    });
    const r = await well.report({ open: true, water_alarm: false, tilt_deg: 10, battery: 50 });
    expect(r.code).toBe('4.01');
    expect(readings.some((x) => x.device === 'sim-well')).toBe(false);
  });
});
