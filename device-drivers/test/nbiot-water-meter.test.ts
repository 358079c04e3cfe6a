import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '@village/test-kit';
import { decode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NbiotDriver, createNbiotDriver, nbiotConfigSchema } from '../src/nbiot/index.js';
import { cborBody, deviceMac } from './nbiot-fixtures/device-body.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The water meter through the NB-IoT driver, its device played by libcoap's coap-client-notls
 * (a CoAP peer we did not write). Payloads are written as hex from the documented layout
 * (docs/nbiot-device-guide.md), not produced by the codec under test.
 */
const METER = { imei: '860000000000077', key: '0123456789abcdef0123456789abcdef' };
const dir = mkdtempSync(join(tmpdir(), 'nbiot-meter-'));
let fileNo = 0;
let ctx: RecordingContext;
let driver: NbiotDriver;

async function post(counter: number, payloadHex: string, ack?: string) {
  const payload = Buffer.from(payloadHex.replace(/\s+/g, ''), 'hex');
  const inFile = join(dir, `up-${++fileNo}.bin`);
  const outFile = join(dir, `down-${fileNo}.bin`);
  writeFileSync(inFile, cborBody(METER.key, METER.imei, { counter, payload, ack }));
  writeFileSync(outFile, '');
  const r = await runTool('coap-client-notls', [
    '-m',
    'post',
    '-t',
    '60',
    '-f',
    inFile,
    '-o',
    outFile,
    '-B',
    '15',
    `coap://127.0.0.1:${driver.port()}/t/${METER.imei}`,
  ]);
  expect(r.code).toBe(0);
  return { error: r.stderr.trim(), payload: readFileSync(outFile) };
}

const meterReadings = () => ctx.readings.filter((r) => r.device === 'meter-1');
const meterEvents = () => ctx.events.filter((e) => e.device === 'meter-1');

beforeAll(async () => {
  ctx = createRecordingContext(join(dir, 'data'));
  driver = createNbiotDriver(
    nbiotConfigSchema.parse({
      port: 0,
      bind: '127.0.0.1',
      devices: [{ id: 'meter-1', imei: METER.imei, key: METER.key, codec: 'water-meter' }],
    }),
  );
  await driver.start(ctx);
});

afterAll(async () => {
  await driver.stop();
});

describe('NB-IoT water meter over real CoAP', () => {
  it('stores volume, flow, valve and battery as readings', { timeout: 30_000 }, async () => {
    const r = await post(1, '01 00 00 0012d687 01c2 58');
    expect(r.error).toBe('');
    expect(meterReadings().map((x) => [x.metric, x.value, x.unit])).toEqual([
      ['volume_m3', 1234.567, 'm³'],
      ['flow_m3h', 0.45, 'm³/h'],
      ['valve', 'open', ''],
      ['battery', 88, '%'],
    ]);
    expect(meterEvents()).toEqual([]);
  });

  it('raises each alarm once, on its rising edge', { timeout: 30_000 }, async () => {
    expect((await post(2, '01 01 00 0012d690 000c 58')).error).toBe('');
    expect(meterEvents().map((e) => [e.type, e.severity, e.data])).toEqual([
      ['water_leak', 'warning', { volume_m3: 1234.576, flow_m3h: 0.012 }],
    ]);
    // still leaking, now also tampered with and low on battery: only the new alarms are events
    expect((await post(3, '01 0d 00 0012d691 000c 09')).error).toBe('');
    expect(meterEvents().map((e) => [e.type, e.severity])).toEqual([
      ['water_leak', 'warning'],
      ['meter_tamper', 'critical'],
      ['low_battery', 'info'],
    ]);
    // alarms clear, then the leak comes back: a new event
    expect((await post(4, '01 00 00 0012d692 0000 58')).error).toBe('');
    expect((await post(5, '01 01 00 0012d693 000c 58')).error).toBe('');
    expect(meterEvents().filter((e) => e.type === 'water_leak')).toHaveLength(2);
  });

  it(
    'closes the valve by command: bytes 30 00 ride on the 2.04, the echo confirms',
    { timeout: 30_000 },
    async () => {
      let settled = false;
      const done = driver.command({ id: 'close-1', device: 'meter-1', action: 'valve_close', params: {} });
      done.then(() => {
        settled = true;
      });
      const r = await post(6, '01 00 00 0012d694 0000 58');
      expect(r.error).toBe('');
      const down = decode(r.payload) as { i: string; d: Uint8Array; m: Uint8Array };
      expect(down.i).toBe('close-1');
      expect([...down.d]).toEqual([0x30, 0x00]);
      expect(Buffer.from(down.m)).toEqual(deviceMac(METER.key, `${METER.imei}|6|close-1|`, down.d));
      expect(settled).toBe(false);
      expect((await post(7, '01 00 01 0012d694 0000 58', 'close-1')).error).toBe('');
      await done;
      expect(meterReadings().at(-2)).toMatchObject({ metric: 'valve', value: 'closed' });
    },
  );

  it('refuses a bad payload with 4.00 and a counter, storing nothing', { timeout: 30_000 }, async () => {
    const before = meterReadings().length;
    const r = await post(8, '02 00 00 00000000 0000 64');
    expect(r.error).toMatch(/^4\.00/);
    expect(meterReadings()).toHaveLength(before);
    expect(ctx.errorCount('nbiot_codec_error')).toBe(1);
  });
});
