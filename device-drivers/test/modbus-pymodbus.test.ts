import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@village/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../src/driver.js';
import { modbusConfigSchema } from '../src/modbus/modbus-config.js';
import { modbusDriverKind } from '../src/modbus/modbus-driver.js';
import { type RecordingContext, latest, recordingContext, startProcess } from './modbus-helpers.js';

/**
 * Interop: our driver polls a Modbus TCP slave built with Debian's python3-pymodbus (3.0.0), an
 * implementation we did not write, whose registers were encoded in Python with struct.
 */
const script = fileURLToPath(new URL('./modbus-fixtures/pymodbus_slave.py', import.meta.url));
// Debian's python3-pymodbus lives under the system interpreter, which a pyenv shim may hide.
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('driver against a pymodbus TCP slave', () => {
  let slave: Awaited<ReturnType<typeof startProcess>>;
  let port: number;
  let driver: Driver | undefined;
  let ctx: RecordingContext | undefined;

  beforeAll(async () => {
    slave = await startProcess(python, [script, '0'], /PORT (\d+)/);
    port = Number(slave.match[1]);
  }, 30_000);
  afterEach(async () => {
    await driver?.stop();
    ctx?.abort();
  });
  afterAll(async () => {
    await slave?.stop();
  });

  async function start(intervalMs = 200) {
    const config = modbusConfigSchema.parse({
      transport: { type: 'tcp', host: '127.0.0.1', port },
      timeoutMs: 2000,
      devices: [
        { id: 'pm-1', unitId: 1, profile: 'pm25-sensor', intervalMs },
        { id: 'water-1', unitId: 2, profile: 'water-probe', intervalMs },
        { id: 'siren-1', unitId: 3, profile: 'siren-relay', intervalMs },
      ],
    });
    driver = modbusDriverKind.create(config, { id: 'modbus-py', configDir: '.' });
    ctx = recordingContext();
    await driver.start(ctx);
    return ctx;
  }

  it('reads every profile point with the value pymodbus holds', { timeout: 30_000 }, async () => {
    const c = await start();
    await waitFor(
      'readings from the three units',
      () =>
        latest(c.readings, 'pm-1', 'uptime') &&
        latest(c.readings, 'water-1', 'cod') &&
        latest(c.readings, 'siren-1', 'mains_power'),
    );
    const value = (device: string, metric: string) => {
      const r = latest(c.readings, device, metric)!;
      expect(r.quality, `${device} ${metric}`).toBe('good');
      return r.value;
    };
    expect(['pm2_5', 'pm10', 'humidity', 'temperature', 'uptime'].map((m) => value('pm-1', m))).toEqual([
      35, 71, 55.5, -3.2, 70_000,
    ]);
    expect(
      [
        'ph',
        'dissolved_oxygen',
        'turbidity',
        'conductivity',
        'water_temperature',
        'nh3_n',
        'cod',
        'probe_status',
        'brush_interval',
      ].map((m) => value('water-1', m)),
    ).toEqual([7.25, 6.5, 12.75, 415.5, 17.25, 0.5, 18, 3, 30]);
    expect(['siren', 'cabinet_door', 'mains_power', 'siren_timeout'].map((m) => value('siren-1', m))).toEqual(
      [false, true, false, 120],
    );
    expect(latest(c.readings, 'water-1', 'ph')!.unit).toBe('pH');
    expect(c.events).toEqual([]);
  });

  it(
    'writes the siren coil and a holding register that pymodbus then reports',
    { timeout: 30_000 },
    async () => {
      const c = await start();
      await driver!.command!({
        id: 'c1',
        device: 'siren-1',
        action: 'write',
        params: { point: 'siren', value: true },
      });
      await driver!.command!({
        id: 'c2',
        device: 'water-1',
        action: 'write',
        params: { point: 'brush_interval', value: 45 },
      });
      const after = Date.now();
      await waitFor('siren on', () =>
        c.readings.find((r) => r.metric === 'siren' && r.value === true && r.ts > after),
      );
      await waitFor('brush interval', () =>
        c.readings.find((r) => r.metric === 'brush_interval' && r.value === 45 && r.ts > after),
      );
      await driver!.command!({
        id: 'c3',
        device: 'siren-1',
        action: 'write',
        params: { point: 'siren', value: false },
      });
    },
  );
});
