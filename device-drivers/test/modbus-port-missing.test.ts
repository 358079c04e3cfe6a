import { waitFor } from '@village/test-kit';
import { describe, expect, it } from 'vitest';
import { modbusConfigSchema } from '../src/modbus/modbus-config.js';
import { modbusDriverKind } from '../src/modbus/modbus-driver.js';
import { recordingContext } from './modbus-helpers.js';

describe('a serial port that is not there', () => {
  it('marks the devices offline with reason port_closed and keeps running', { timeout: 30_000 }, async () => {
    const config = modbusConfigSchema.parse({
      transport: { type: 'rtu', path: '/dev/village-no-such-port' },
      timeoutMs: 200,
      retries: 0,
      devices: [
        { id: 'pm-1', unitId: 1, profile: 'pm25-sensor', intervalMs: 100 },
        { id: 'siren-1', unitId: 2, profile: 'siren-relay', intervalMs: 100 },
      ],
    });
    const driver = modbusDriverKind.create(config, { id: 'm', configDir: '.' });
    const ctx = recordingContext();
    await driver.start(ctx);
    try {
      await waitFor('two offline events', () => ctx.events.filter((e) => e.type === 'offline').length === 2);
      expect(ctx.events.map((e) => [e.device, e.data.reason])).toEqual(
        expect.arrayContaining([
          ['pm-1', 'port_closed'],
          ['siren-1', 'port_closed'],
        ]),
      );
      await waitFor('further attempts', () => (ctx.errors.get('modbus_port_closed') ?? 0) >= 6);
      expect(ctx.events).toHaveLength(2);
      expect(ctx.readings).toEqual([]);
      expect(ctx.failures).toEqual([]);
    } finally {
      await driver.stop();
    }
  });
});
