import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import { freeUdpPort } from './nbiot-fixtures/free-port.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';
import { runProcess } from './nbiot-fixtures/run-process.js';
import { waitFor } from './nbiot-fixtures/wait-for.js';

/**
 * The GB/T 28181 SIP intake against SIPp (scenarios in camera-fixtures/), plus raw UDP
 * datagrams for malformed input that SIPp will not produce.
 */
const fixtures = join(import.meta.dirname, 'camera-fixtures');
const dir = mkdtempSync(join(tmpdir(), 'gb28181-test-'));
const SERVER_ID = '34020000002000000001';
const REALM = '3402000000';
const DEVICE = '34020000001320000001';
const OTHER = '34020000001320000002';
let ctx: RecordingContext;
let driver: CameraDriver;

async function sipp(scenario: string, device: string, password: string) {
  const [p, mp] = [await freeUdpPort(), await freeUdpPort()];
  return runProcess(
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
    ],
    { timeoutMs: 30_000, cwd: dir },
  );
}

/** Sends one datagram from a fresh socket and returns the first answer (undefined if none within waitMs). */
async function exchange(text: string | Buffer, waitMs = 20_000): Promise<string | undefined> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
      s.send(typeof text === 'string' ? Buffer.from(text) : text, driver.ports().sip!, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

function request(
  method: string,
  cseq: number,
  extra: string[],
  body: Buffer = Buffer.alloc(0),
  from = DEVICE,
): Buffer {
  const head = [
    `${method} sip:${SERVER_ID}@${REALM} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-${method}-${cseq}-${Math.random().toString(36).slice(2)}`,
    `From: <sip:${from}@${REALM}>;tag=t${cseq}`,
    `To: <sip:${method === 'REGISTER' ? from : SERVER_ID}@${REALM}>`,
    `Call-ID: raw-${cseq}@127.0.0.1`,
    `CSeq: ${cseq} ${method}`,
    ...extra,
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), body]);
}

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
      // register OTHER by hand with an RFC 2617 digest computed here (no qop, allowed for SIP)
      const challenge = await exchange(request('REGISTER', 1, ['Expires: 600']));
      expect(challenge).toMatch(/^SIP\/2\.0 401/);
      const nonce = /nonce="([^"]+)"/.exec(challenge!)![1]!;
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const uri = `sip:${SERVER_ID}@${REALM}`;
      const response = md5(`${md5(`${OTHER}:${REALM}:other-pass`)}:${nonce}:${md5(`REGISTER:${uri}`)}`);
      const auth = `Authorization: Digest username="${OTHER}", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5`;
      const ok = await exchange(request('REGISTER', 2, ['Expires: 600', auth], undefined, OTHER));
      expect(ok).toMatch(/^SIP\/2\.0 200/);
      expect(ok).toMatch(/\r\nDate: \d{4}-\d\d-\d\dT/);

      const keepalive = Buffer.from(
        `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>2</SN><DeviceID>${OTHER}</DeviceID><Status>OK</Status></Notify>`,
      );
      expect(
        await exchange(request('MESSAGE', 3, ['Content-Type: Application/MANSCDP+xml'], keepalive, OTHER)),
      ).toMatch(/^SIP\/2\.0 200/);

      // "入侵" (intrusion) in GB2312: C8EB C7D6
      const gbBody = Buffer.concat([
        Buffer.from(
          `<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Alarm</CmdType><SN>3</SN><DeviceID>${OTHER}</DeviceID><AlarmPriority>2</AlarmPriority><AlarmMethod>5</AlarmMethod><AlarmTime>2026-11-28T12:00:00</AlarmTime><AlarmDescription>`,
        ),
        Buffer.from([0xc8, 0xeb, 0xc7, 0xd6]),
        Buffer.from('</AlarmDescription><Info><AlarmType>10</AlarmType></Info></Notify>'),
      ]);
      expect(
        await exchange(request('MESSAGE', 4, ['Content-Type: Application/MANSCDP+xml'], gbBody, OTHER)),
      ).toMatch(/^SIP\/2\.0 200/);
      expect(ctx.events.at(-1)).toMatchObject({
        device: 'gb-cam-2',
        type: 'crowding',
        severity: 'warning',
        data: { description: '入侵' },
      });

      const badXml = Buffer.from('<?xml version="1.0"?><Notify><CmdType>Alarm</CmdType>');
      expect(
        await exchange(request('MESSAGE', 5, ['Content-Type: Application/MANSCDP+xml'], badXml, OTHER)),
      ).toMatch(/^SIP\/2\.0 400/);
      const badLength = request('MESSAGE', 6, ['Content-Type: Application/MANSCDP+xml'], keepalive, OTHER)
        .toString()
        .replace(/Content-Length: \d+/, 'Content-Length: 9999');
      expect(await exchange(badLength)).toMatch(/^SIP\/2\.0 400/);
      // Datagrams with nothing to address an answer to are dropped and counted. One socket sends
      // them and then a good request: the only answer it ever gets must be that request's 200.
      const sock = createSocket('udp4');
      const answers: string[] = [];
      sock.on('message', (m) => answers.push(m.toString()));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      const sendRaw = (b: Buffer | string) =>
        sock.send(typeof b === 'string' ? Buffer.from(b) : b, driver.ports().sip!, '127.0.0.1');
      try {
        sendRaw(
          request(
            'MESSAGE',
            7,
            Array.from({ length: 80 }, (_, i) => `X-H${i}: v`),
            keepalive,
            OTHER,
          ),
        );
        await waitFor(() => ctx.errorCount('camera_sip_parse_too_many_headers') === 1, {
          what: 'too_many_headers counted',
        });
        sendRaw(Buffer.alloc(20_000, 0x41));
        await waitFor(() => ctx.errorCount('camera_sip_parse_too_large') === 1, {
          what: 'too_large counted',
        });
        sendRaw('\x00\x01garbage\r\n\r\n');
        await waitFor(() => ctx.errorCount('camera_sip_parse_bad_start_line') === 1, {
          what: 'bad_start_line counted',
        });
        sendRaw(request('MESSAGE', 8, ['Content-Type: Application/MANSCDP+xml'], keepalive, OTHER));
        await waitFor(() => answers.length > 0, { what: 'an answer' });
        expect(answers).toHaveLength(1);
        expect(answers[0]).toMatch(/^SIP\/2\.0 200 OK\r\n[\s\S]*CSeq: 8 MESSAGE/);
      } finally {
        sock.close();
      }
      expect(ctx.failures).toEqual([]);
    },
  );
});
