import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, runTool, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import { openGbDevice, register, sipRequest } from './camera-fixtures/gb-device.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The GB/T 28181 SIP intake against SIPp (scenarios in camera-fixtures/), plus raw UDP
 * datagrams for malformed input that SIPp will not produce (gb28181-trust.test.ts has the
 * replay, source-binding and channel cases).
 */
const fixtures = join(import.meta.dirname, 'camera-fixtures');
const dir = mkdtempSync(join(tmpdir(), 'gb28181-test-'));
const SERVER_ID = '34020000002000000001';
const REALM = '3402000000';
const DEVICE = '34020000001320000001';
const OTHER = '34020000001320000002';
let ctx: RecordingContext;
let driver: CameraDriver;

async function sipp(scenario: string, device: string, password: string, extra: string[] = []) {
  const [p, mp] = [await freeUdpPort(), await freeUdpPort()];
  return runTool(
    'sipp',
    [
      '127.0.0.1:' + driver.ports().sip,
      '-sf',
      join(fixtures, scenario),
      '-m',
      '1',
      '-timeout',
      '20s',
      '-trace_err',
      '-nostdin',
      '-i',
      '127.0.0.1',
      '-p',
      String(p),
      '-mp',
      String(mp),
      '-s',
      device,
      '-au',
      device,
      '-ap',
      password,
      '-key',
      'serverid',
      SERVER_ID,
      '-key',
      'domain',
      REALM,
      ...extra,
    ],
    { timeoutMs: 30_000, cwd: dir },
  );
}

const T = { serverId: SERVER_ID, realm: REALM };

beforeAll(async () => {
  process.env.GB_TEST_PASSWORD = 'gb-secret-1';
  ctx = createRecordingContext(join(dir, 'data'));
  driver = createCameraDriver(
    cameraConfigSchema.parse({
      http: { port: 0, bind: '127.0.0.1' },
      sip: { port: 0, bind: '127.0.0.1', realm: REALM, serverId: SERVER_ID, password: '${GB_TEST_PASSWORD}' },
      cameras: [
        { id: 'gb-cam-1', auth: { type: 'basic', username: 'u', password: 'p' }, gbDeviceId: DEVICE },
        {
          id: 'gb-cam-2',
          auth: { type: 'basic', username: 'u', password: 'p' },
          gbDeviceId: OTHER,
          gbPassword: 'other-pass',
        },
      ],
    }),
  );
  await driver.start(ctx);
});

afterAll(async () => {
  await driver.stop();
});

describe('GB/T 28181 alarm intake with SIPp', () => {
  it(
    'SIPp registers with digest auth and its Alarm MESSAGE becomes an intrusion event',
    { timeout: 40_000 },
    async () => {
      const r = await sipp('gb28181-register-alarm.xml', DEVICE, 'gb-secret-1');
      expect(r.code, r.stderr).toBe(0);
      const ev = ctx.events.find((e) => e.device === 'gb-cam-1');
      expect(ev).toMatchObject({
        type: 'intrusion',
        severity: 'warning',
        data: {
          source: 'gb28181',
          gb_device: DEVICE,
          alarm_priority: 1,
          alarm_method: 5,
          alarm_type: 6,
          description: 'zone 2 intrusion',
        },
      });
    },
  );

  it(
    "a wrong password gets 401 again, and the unregistered device's MESSAGE gets 403",
    { timeout: 40_000 },
    async () => {
      const before = ctx.events.length;
      const r = await sipp('gb28181-register-wrong-password.xml', OTHER, 'not-the-password');
      expect(r.code, r.stderr).toBe(0);
      expect(ctx.errorCount('camera_sip_auth_bad_credentials')).toBe(1);
      expect(ctx.errorCount('camera_sip_not_registered')).toBe(1);
      expect(ctx.events.length).toBe(before);
    },
  );

  it(
    'decodes a GB2312 body, answers Keepalive 200, and refuses malformed SIP with 400',
    { timeout: 40_000 },
    async () => {
      // register OTHER by hand with an RFC 2617 digest computed here (qop=auth), from one socket
      const dev = await openGbDevice(() => driver.ports().sip!);
      const send = (method: string, cseq: number, extra: string[], body?: Buffer) =>
        dev.send(sipRequest(T, { method, cseq, from: OTHER, extra, body }));
      const mans = ['Content-Type: Application/MANSCDP+xml'];
      try {
        const reg = await register(dev, T, { device: OTHER, password: 'other-pass', cseq: 1 });
        expect(reg.answer).toMatch(/^SIP\/2\.0 200/);
        expect(reg.answer).toMatch(/\r\nDate: \d{4}-\d\d-\d\dT/);

        const keepalive = Buffer.from(
          `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>2</SN><DeviceID>${OTHER}</DeviceID><Status>OK</Status></Notify>`,
        );
        expect(await send('MESSAGE', 3, mans, keepalive)).toMatch(/^SIP\/2\.0 200/);

        // "入侵" (intrusion) in GB2312: C8EB C7D6
        const gbBody = Buffer.concat([
          Buffer.from(
            `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Alarm</CmdType><SN>3</SN><DeviceID>${OTHER}</DeviceID><AlarmPriority>2</AlarmPriority><AlarmMethod>5</AlarmMethod><AlarmTime>2026-11-28T12:00:00</AlarmTime><AlarmDescription>`,
          ),
          Buffer.from([0xc8, 0xeb, 0xc7, 0xd6]),
          Buffer.from('</AlarmDescription><Info><AlarmType>10</AlarmType></Info></Notify>'),
        ]);
        expect(await send('MESSAGE', 4, mans, gbBody)).toMatch(/^SIP\/2\.0 200/);
        expect(ctx.events.at(-1)).toMatchObject({
          device: 'gb-cam-2',
          type: 'crowding',
          severity: 'warning',
          data: { description: '入侵' },
        });

        const badXml = Buffer.from('<?xml version="1.0"?><Notify><CmdType>Alarm</CmdType>');
        expect(await send('MESSAGE', 5, mans, badXml)).toMatch(/^SIP\/2\.0 400/);
        const badLength = sipRequest(T, {
          method: 'MESSAGE',
          cseq: 6,
          from: OTHER,
          extra: mans,
          body: keepalive,
        })
          .toString()
          .replace(/Content-Length: \d+/, 'Content-Length: 9999');
        expect(await dev.send(Buffer.from(badLength))).toMatch(/^SIP\/2\.0 400/);
        // Datagrams with nothing to address an answer to are dropped and counted. The device
        // sends them and then a good request: the only answer it gets must be that request's 200.
        const answered = dev.responses.length;
        dev.raw(
          sipRequest(T, {
            method: 'MESSAGE',
            cseq: 7,
            from: OTHER,
            extra: Array.from({ length: 80 }, (_, i) => `X-H${i}: v`),
            body: keepalive,
          }),
        );
        await waitFor(
          'too_many_headers counted',
          () => ctx.errorCount('camera_sip_parse_too_many_headers') === 1,
        );
        dev.raw(Buffer.alloc(20_000, 0x41));
        await waitFor('too_large counted', () => ctx.errorCount('camera_sip_parse_too_large') === 1);
        dev.raw('\x00\x01garbage\r\n\r\n');
        await waitFor(
          'bad_start_line counted',
          () => ctx.errorCount('camera_sip_parse_bad_start_line') === 1,
        );
        expect(await send('MESSAGE', 8, mans, keepalive)).toMatch(
          /^SIP\/2\.0 200 OK\r\n[\s\S]*CSeq: 8 MESSAGE/,
        );
        expect(dev.responses.length).toBe(answered + 1);
      } finally {
        dev.close();
      }
      expect(ctx.failures).toEqual([]);
    },
  );
  it(
    "SIPp's own REGISTER and Alarm, replayed from other sockets with other Call-IDs: 401 and 403, no event",
    { timeout: 40_000 },
    async () => {
      const r = await sipp('gb28181-register-alarm.xml', DEVICE, 'gb-secret-1', ['-trace_msg']);
      expect(r.code, r.stderr).toBe(0);
      // SIPp's message log: each "UDP message sent" block is one datagram as it went out.
      const log = readdirSync(dir).find(
        (f) => f.startsWith('gb28181-register-alarm_') && f.endsWith('_messages.log'),
      );
      const sent = readFileSync(join(dir, log!), 'utf8')
        .split(/^-{20,}.*$/m)
        .filter((b) => /UDP message sent/.test(b))
        .map((b) => b.replace(/^[\s\S]*?UDP message sent \(\d+ bytes\):\n\n/, '').replace(/\r?\n/g, '\r\n'));
      const registered = sent.find((m) => m.startsWith('REGISTER ') && /\r\nAuthorization: Digest /.test(m));
      const alarm = sent.find((m) => m.startsWith('MESSAGE ') && /<CmdType>Alarm<\/CmdType>/.test(m));
      expect(registered).toMatch(/qop=auth/);
      expect(alarm).toBeDefined();
      const elsewhere = (m: string, n: number) =>
        m
          .replace(/\r\nCall-ID: [^\r]+/i, `\r\nCall-ID: replay-${n}@10.9.9.9`)
          .replace(/branch=[^;\r]+/, `branch=z9hG4bK-replay-${n}`);
      const before = ctx.events.length;
      const replays = ctx.errorCount('camera_sip_auth_replay');
      const strangers = ctx.errorCount('camera_sip_wrong_source');
      for (const [m, n, want] of [
        [registered!, 1, /^SIP\/2\.0 401/],
        [alarm!, 2, /^SIP\/2\.0 403/],
      ] as const) {
        const dev = await openGbDevice(() => driver.ports().sip!);
        try {
          expect(await dev.send(Buffer.from(elsewhere(m, n))), m.slice(0, 40)).toMatch(want);
        } finally {
          dev.close();
        }
      }
      expect(ctx.events.length).toBe(before);
      expect(ctx.errorCount('camera_sip_auth_replay')).toBe(replays + 1);
      expect(ctx.errorCount('camera_sip_wrong_source')).toBe(strangers + 1);
    },
  );
});
