// Test-only: the simulator is checked against the real edge driver (src never imports it).
import { type NbiotDriver, createNbiotDriver, nbiotConfigSchema } from '@village/device-drivers/nbiot';
import type { DeviceEvent, Reading } from '@village/protocol';
import { recordingDriverContext } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWaterMeter } from '../src/nbiot/index.js';

const KEY = '5a'.repeat(16);
const IMEI = '861000000000077';
const recording = recordingDriverContext<Reading, DeviceEvent>('water-meter-sim-test');
const { readings, events, errors } = recording;
let driver: NbiotDriver;

beforeAll(async () => {
  driver = createNbiotDriver(
    nbiotConfigSchema.parse({
      port: 0,
      bind: '127.0.0.1',
      devices: [{ id: 'meter-7', imei: IMEI, key: KEY, codec: 'water-meter' }],
    }),
  );
  await driver.start(recording.context);
});

afterAll(async () => {
  await driver.stop();
});

const latest = (metric: string) => readings.filter((r) => r.metric === metric).at(-1)?.value;

describe('water-meter simulator against the edge NB-IoT driver over CoAP', () => {
  it('reports the volume it integrated, then a leak once flow never stops', { timeout: 30_000 }, async () => {
    const meter = createWaterMeter({
      host: '127.0.0.1',
      port: driver.port(),
      imei: IMEI,
      keyHex: KEY,
      volumeM3: 100,
    });
    meter.draw(0.5, 2 * 3_600_000); // 2 h at 0.5 m³/h: 1 m³, but flowing for 2 h is a leak
    expect((await meter.report()).code).toBe('2.04');
    expect(latest('volume_m3')).toBe(101);
    expect(latest('flow_m3h')).toBe(0.5);
    expect(events.map((e) => e.type)).toEqual(['water_leak']);
    meter.draw(0, 60_000); // tap closed: leak clears
    meter.draw(0.012, 30 * 60_000); // 30 min of 12 L/h: 6 L, not yet a leak
    expect((await meter.report()).code).toBe('2.04');
    expect(latest('volume_m3')).toBe(101.006);
    expect(events.map((e) => e.type)).toEqual(['water_leak']);
    expect(errors).toEqual([]);
  });

  it(
    "closes its valve on the edge's command and confirms it in the next report",
    { timeout: 30_000 },
    async () => {
      const meter = createWaterMeter({
        host: '127.0.0.1',
        port: driver.port(),
        imei: IMEI,
        keyHex: KEY,
        volumeM3: 200,
        counter: 100, // the same device after the first test: counters only go up
      });
      const done = driver.command({ id: 'close-7', device: 'meter-7', action: 'valve_close', params: {} });
      const answer = await meter.report();
      expect(answer.command).toEqual({ id: 'close-7', action: 'valve_close', params: {} });
      expect(meter.state().valve).toBe('closed');
      meter.draw(1, 3_600_000); // nothing passes a closed valve
      expect((await meter.report()).code).toBe('2.04');
      await done;
      expect(latest('valve')).toBe('closed');
      expect(latest('volume_m3')).toBe(200);
    },
  );
});
