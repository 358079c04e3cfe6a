import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '@village/test-kit';
import { decode } from 'cbor-x';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeUplink as smokeUplink } from '../src/codecs/nb-smoke-detector.js';
import { type NbiotDriver, createNbiotDriver, nbiotConfigSchema } from '../src/nbiot/index.js';
import { cborBody } from './nbiot-fixtures/device-body.js';
import { createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The NB-IoT command queue across a driver restart on the same data dir, with libcoap's
 * coap-client-notls as the device (a CoAP peer we did not write).
 */
const SMOKE = { imei: '860000000000101', key: '00112233445566778899aabbccddeeff' };
const dir = mkdtempSync(join(tmpdir(), 'nbiot-restart-'));
const dataDir = join(dir, 'data');
let fileNo = 0;
let driver: NbiotDriver | undefined;

const config = () =>
  nbiotConfigSchema.parse({
    port: 0,
    bind: '127.0.0.1',
    devices: [{ id: 'smoke-r', imei: SMOKE.imei, key: SMOKE.key, codec: 'smoke-detector' }],
  });
const payload = smokeUplink({
  alarm: false,
  self_test: false,
  fault: false,
  smoke_density: 0.1,
  temperature: 21,
  battery: 90,
});

async function post(counter: number, ack?: string) {
  const inFile = join(dir, `up-${++fileNo}.bin`);
  const outFile = join(dir, `down-${fileNo}.bin`);
  writeFileSync(inFile, cborBody(SMOKE.key, SMOKE.imei, { counter, payload, ...(ack ? { ack } : {}) }));
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
    `coap://127.0.0.1:${driver!.port()}/t/${SMOKE.imei}`,
  ]);
  expect(r.code).toBe(0);
  expect(r.stderr.trim()).toBe('');
  const body = readFileSync(outFile);
  return body.length === 0 ? undefined : (decode(body) as { i: string; d: Uint8Array });
}

async function start() {
  driver = createNbiotDriver(config());
  await driver.start(createRecordingContext(dataDir));
}

afterAll(async () => {
  await driver?.stop();
});

describe('nbiot command queue across a restart', () => {
  it(
    'a command queued before a restart reaches the device after it; the resent id gets its outcome',
    {
      timeout: 30_000,
    },
    async () => {
      await start();
      const first = driver!.command({
        id: 'cmd-r1',
        device: 'smoke-r',
        action: 'silence',
        params: { minutes: 5 },
      });
      const firstSettled = first.catch((e: Error) => e);
      await driver!.stop();
      // The waiter is told the driver stopped; the command itself stays queued on disk.
      expect(((await firstSettled) as Error).message).toMatch(/stopped/);

      await start();
      const down = await post(1);
      expect(down?.i).toBe('cmd-r1');
      expect([...down!.d]).toEqual([0x01, 5]);
      // The cloud resends the command it has no result for: it joins the queued one, not a copy.
      const resent = driver!.command({
        id: 'cmd-r1',
        device: 'smoke-r',
        action: 'silence',
        params: { minutes: 5 },
      });
      expect(await post(2, 'cmd-r1')).toBeUndefined();
      await expect(resent).resolves.toEqual({ delivered: true, confirmedBy: 2 });
      // And across one more restart, a late resend gets the stored outcome without queuing again.
      await driver!.stop();
      await start();
      await expect(
        driver!.command({ id: 'cmd-r1', device: 'smoke-r', action: 'silence', params: { minutes: 5 } }),
      ).resolves.toEqual({ delivered: true, confirmedBy: 2 });
      expect(await post(3)).toBeUndefined();
    },
  );
});
