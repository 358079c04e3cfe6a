import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUZZ_SEED, framesFrom, textsFrom } from '@village/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import { openGbDevice, register, sipRequest } from './camera-fixtures/gb-device.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The running camera driver under fuzzed input on its real ports: SIP datagrams to the GB/T 28181
 * intake from a registered device's own socket (so they reach the MESSAGE handler), and ISAPI and
 * JSON bodies to the HTTP listener. Bad input gets 4xx or is dropped and counted; nothing reaches
 * the handlers' "internal" path (HTTP 503/500, camera_*_internal), and good input still works.
 */
const T = { serverId: '34020000002000000001', realm: '3402000000' };
const CAM = '34020000001320000021';
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
let ctx: RecordingContext;
let driver: CameraDriver;

beforeAll(async () => {
  ctx = createRecordingContext(mkdtempSync(join(tmpdir(), 'fuzz-cam-')));
  driver = createCameraDriver(
    cameraConfigSchema.parse({
      http: { port: 0, bind: '127.0.0.1' },
      sip: { port: 0, bind: '127.0.0.1', realm: T.realm, serverId: T.serverId, password: 'fuzz-pass' },
      cameras: [{ id: 'cam', auth: { type: 'basic', username: 'u', password: 'p' }, gbDeviceId: CAM }],
    }),
  );
  await driver.start(ctx);
});
afterAll(async () => {
  await driver.stop();
});

describe('camera driver on its ports (fuzz)', () => {
  it(
    'fuzzed SIP datagrams from a registered device: no internal error; the device is still heard',
    { timeout: 60_000 },
    async () => {
      const dev = await openGbDevice(() => driver.ports().sip!);
      try {
        expect((await register(dev, T, { device: CAM, password: 'fuzz-pass', cseq: 1 })).answer).toMatch(
          /^SIP\/2\.0 200/,
        );
        const alarm = Buffer.from(
          `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Alarm</CmdType><SN>3</SN><DeviceID>${CAM}</DeviceID><AlarmPriority>2</AlarmPriority><AlarmMethod>5</AlarmMethod><Longitude>120.1</Longitude><Latitude>30.2</Latitude><Info><AlarmType>6</AlarmType></Info></Notify>`,
        );
        const seeds = [
          sipRequest(T, {
            method: 'MESSAGE',
            cseq: 5,
            from: CAM,
            extra: ['Content-Type: Application/MANSCDP+xml'],
            body: alarm,
          }),
          sipRequest(T, { method: 'REGISTER', cseq: 6, from: CAM, extra: ['Expires: 600'] }),
        ];
        const keepalive = Buffer.from(
          `<?xml version="1.0"?><Notify><CmdType>Keepalive</CmdType><SN>9</SN><DeviceID>${CAM}</DeviceID><Status>OK</Status></Notify>`,
        );
        // Every 10 datagrams a keepalive, awaited: the socket is ordered, so once its answer is
        // back everything before it has been handled, and the UDP buffers never overflow.
        const sync = (cseq: number) =>
          dev.send(
            sipRequest(T, {
              method: 'MESSAGE',
              cseq,
              from: CAM,
              extra: ['Content-Type: Application/MANSCDP+xml'],
              body: keepalive,
            }),
          );
        const inputs = fc.sample(framesFrom(seeds, 600), { seed: FUZZ_SEED, numRuns: RUNS });
        for (let i = 0; i < inputs.length; i++) {
          dev.raw(Buffer.from(inputs[i]!));
          if (i % 10 === 9) expect(await sync(100_000 + i), `after datagram ${i}`).toMatch(/^SIP\/2\.0 200/);
        }
        const ok = await sync(99_999);
        expect(ok).toMatch(/^SIP\/2\.0 200/);
        expect(ctx.errorCount('camera_sip_internal')).toBe(0);
        expect(ctx.logs.filter((l) => l.level === 'error')).toEqual([]);
      } finally {
        dev.close();
      }
    },
  );

  it('fuzzed ISAPI and JSON bodies over HTTP: 200 or 4xx, never 5xx', { timeout: 60_000 }, async () => {
    const base = `http://127.0.0.1:${driver.ports().http}/cam/cam`;
    const isapi = ['isapi-linedetection.xml', 'isapi-anpr.xml'].map((f) =>
      readFileSync(join(import.meta.dirname, 'camera-fixtures', f), 'utf8'),
    );
    const json = ['{"type":"smoke","zone":"barn","channel":2}', '{"type":"crowding","count":40}'];
    const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const statuses = new Map<number, number>();
    const bodies = [
      ...fc
        .sample(textsFrom(isapi), { seed: FUZZ_SEED, numRuns: Math.ceil(RUNS / 3) })
        .map((b) => ['isapi', b] as const),
      ...fc
        .sample(textsFrom(json), { seed: FUZZ_SEED, numRuns: Math.ceil(RUNS / 3) })
        .map((b) => ['events', b] as const),
    ];
    for (const [kind, body] of bodies) {
      const r = await fetch(`${base}/${kind}`, { method: 'POST', headers: { authorization: auth }, body });
      await r.arrayBuffer();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, `${kind} ${JSON.stringify(body.slice(0, 120))}`).toBeLessThan(500);
    }
    expect(ctx.errorCount('camera_http_internal')).toBe(0);
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400]));
  });
});
