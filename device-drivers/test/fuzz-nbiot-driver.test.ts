import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUZZ_SEED, framesFrom } from '@village/test-kit';
import coap from 'coap';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeUplink as smokeUplink } from '../src/codecs/nb-smoke-detector.js';
import { type NbiotDriver, createNbiotDriver, nbiotConfigSchema } from '../src/nbiot/index.js';
import { cborBody } from './nbiot-fixtures/device-body.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The running NB-IoT driver under fuzzed input on its CoAP port: non-CoAP datagrams, and CoAP
 * POSTs whose bodies are random, truncated or mutated envelopes, or well-MACed envelopes around
 * fuzzed application payloads (which reach the codec). Every request gets a 2.xx or 4.xx answer,
 * never 5.00, and a good uplink afterwards is still stored.
 */
const DEV = { imei: '860000000000009', key: '00112233445566778899aabbccddeeff' };
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
let ctx: RecordingContext;
let driver: NbiotDriver;
const agent = new coap.Agent({ type: 'udp4' });

function post(body: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = coap.request({
      hostname: '127.0.0.1',
      port: driver.port(),
      method: 'POST',
      pathname: `/t/${DEV.imei}`,
      confirmable: true,
      agent,
    });
    req.setOption('Content-Format', 'application/cbor');
    req.on('response', (res: { code: string; resume(): void }) => {
      res.resume();
      resolve(res.code);
    });
    req.on('error', reject);
    req.end(Buffer.from(body));
  });
}

beforeAll(async () => {
  ctx = createRecordingContext(mkdtempSync(join(tmpdir(), 'fuzz-nbiot-')));
  driver = createNbiotDriver(
    nbiotConfigSchema.parse({
      port: 0,
      bind: '127.0.0.1',
      devices: [{ id: 'smoke-9', imei: DEV.imei, key: DEV.key, codec: 'smoke-detector' }],
    }),
  );
  await driver.start(ctx);
});
afterAll(async () => {
  agent.close();
  await driver.stop();
});

describe('NB-IoT driver on its CoAP port (fuzz)', () => {
  it(
    'fuzzed datagrams and bodies: never 5.00; a good uplink afterwards is stored',
    { timeout: 60_000 },
    async () => {
      const payload = smokeUplink({
        alarm: true,
        self_test: false,
        fault: false,
        smoke_density: 2.35,
        temperature: -4.5,
        battery: 87,
      });
      let counter = 0;
      const envelope = (p: Uint8Array) => cborBody(DEV.key, DEV.imei, { counter: ++counter, payload: p });
      const seeds = [envelope(payload), envelope(Buffer.alloc(0))];
      const inputs = fc.sample(
        fc.oneof(
          framesFrom(seeds, 200).map((b) => ({ kind: 'body' as const, b })),
          framesFrom([payload], 32).map((b) => ({ kind: 'payload' as const, b })),
          framesFrom([Buffer.from([0x40, 0x02, 0x12, 0x34, 0xb1, 0x74])], 64).map((b) => ({
            kind: 'raw' as const,
            b,
          })),
        ),
        { seed: FUZZ_SEED, numRuns: RUNS },
      );
      const raw = createSocket('udp4');
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', r));
      const codes = new Map<string, number>();
      try {
        for (const input of inputs) {
          if (input.kind === 'raw') {
            raw.send(input.b, driver.port(), '127.0.0.1');
            continue;
          }
          const code = await post(input.kind === 'body' ? input.b : envelope(input.b));
          codes.set(code, (codes.get(code) ?? 0) + 1);
          expect(code, `${input.kind} ${Buffer.from(input.b).toString('hex')}`).toMatch(/^[24]\./);
        }
      } finally {
        raw.close();
      }
      const before = ctx.readings.length;
      expect(await post(envelope(payload))).toBe('2.04');
      expect(ctx.readings.length).toBeGreaterThan(before);
      expect(ctx.errorCount('nbiot_internal')).toBe(0);
      expect(ctx.logs.filter((l) => l.level === 'error')).toEqual([]);
      expect([...codes.keys()]).toEqual(expect.arrayContaining(['2.04', '4.00', '4.01']));
    },
  );
});
