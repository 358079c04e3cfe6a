import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import {
  type GbDevice,
  digestAnswer,
  openGbDevice,
  register,
  sipRequest,
} from './camera-fixtures/gb-device.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * Issue 13 finding 8 (GB/T 28181), through the real driver over UDP, each device a raw socket:
 * replayed REGISTERs, MESSAGEs from another source, alarms from an NVR's channels, the fields an
 * alarm carries, and the Response MESSAGE the server owes the device (§9.4.2).
 */
const T = { serverId: '34020000002000000001', realm: '3402000000' };
const CAM = '34020000001320000011';
const NVR = '34020000001180000001';
const NVR_ALARM_IN = '34020000001340000001';
const NVR_CAMERA = '34020000001310000002';
const NOT_A_CHANNEL = '34020000001340000099';
const PASSWORD = 'gb-trust-secret';
let ctx: RecordingContext;
let driver: CameraDriver;
const devices: GbDevice[] = [];
const sipPort = () => driver.ports().sip!;
const device = async () => {
  const d = await openGbDevice(sipPort);
  devices.push(d);
  return d;
};
const alarmBody = (deviceId: string, sn: number, extra = '') =>
  Buffer.from(
    `<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Alarm</CmdType>\r\n<SN>${sn}</SN>\r\n<DeviceID>${deviceId}</DeviceID>\r\n<AlarmPriority>1</AlarmPriority>\r\n<AlarmMethod>5</AlarmMethod>\r\n<AlarmTime>2026-12-01T09:00:00</AlarmTime>${extra}\r\n<Info><AlarmType>6</AlarmType></Info>\r\n</Notify>\r\n`,
  );
const message = (from: string, cseq: number, body: Buffer) =>
  sipRequest(T, { method: 'MESSAGE', cseq, from, extra: ['Content-Type: Application/MANSCDP+xml'], body });

beforeAll(async () => {
  ctx = createRecordingContext(mkdtempSync(join(tmpdir(), 'gb-trust-')));
  driver = createCameraDriver(
    cameraConfigSchema.parse({
      http: { port: 0, bind: '127.0.0.1' },
      sip: { port: 0, bind: '127.0.0.1', realm: T.realm, serverId: T.serverId, password: PASSWORD },
      cameras: [
        { id: 'gate-cam', auth: { type: 'basic', username: 'u', password: 'p' }, gbDeviceId: CAM },
        {
          id: 'yard-nvr',
          auth: { type: 'basic', username: 'u', password: 'p' },
          gbDeviceId: NVR,
          gbChannels: [NVR_ALARM_IN, NVR_CAMERA],
        },
      ],
    }),
  );
  await driver.start(ctx);
});

afterAll(async () => {
  for (const d of devices) d.close();
  await driver.stop();
});

describe('GB/T 28181 trust', () => {
  it('a REGISTER without qop is refused, and so is its replay from another socket and Call-ID', async () => {
    const dev = await device();
    const { answer, request } = await register(dev, T, {
      device: CAM,
      password: PASSWORD,
      cseq: 1,
      qop: false,
    });
    expect(answer).toMatch(/^SIP\/2\.0 401/);
    const attacker = await device();
    const replay = Buffer.from(
      request
        .toString()
        .replace(/Call-ID: [^\r]+/, 'Call-ID: attacker-1@10.9.9.9')
        .replace(/branch=[^\r]+/, 'branch=z9hG4bK-attacker-1'),
    );
    expect(await attacker.send(replay)).toMatch(/^SIP\/2\.0 401/);
    expect(ctx.events).toEqual([]);
  });

  it('a qop REGISTER registers once: its replay elsewhere gets 401, its nonce is spent (stale challenge)', async () => {
    const dev = await device();
    const { answer, request, challenge } = await register(dev, T, {
      device: CAM,
      password: PASSWORD,
      cseq: 10,
    });
    expect(answer).toMatch(/^SIP\/2\.0 200/);
    const attacker = await device();
    const replay = Buffer.from(
      request
        .toString()
        .replace(/Call-ID: [^\r]+/, 'Call-ID: attacker-2@10.9.9.9')
        .replace(/branch=[^\r]+/, 'branch=z9hG4bK-attacker-2'),
    );
    expect(await attacker.send(replay)).toMatch(/^SIP\/2\.0 401/);
    // The same nonce with the next nonce-count (a refresh) is challenged afresh, stale=true.
    const again = digestAnswer(T, challenge, { user: CAM, password: PASSWORD, nc: 2 });
    const refresh = await dev.send(
      sipRequest(T, {
        method: 'REGISTER',
        cseq: 12,
        from: CAM,
        extra: ['Expires: 600', `Authorization: ${again}`],
      }),
    );
    expect(refresh).toMatch(/^SIP\/2\.0 401/);
    expect(refresh).toMatch(/stale=true/);
    expect(ctx.errorCount('camera_sip_auth_replay')).toBeGreaterThanOrEqual(2);
  });

  it('an Alarm MESSAGE from a third socket, with only the registered device id in From, gets 403 and no event', async () => {
    const dev = await device();
    expect((await register(dev, T, { device: CAM, password: PASSWORD, cseq: 20 })).answer).toMatch(
      /^SIP\/2\.0 200/,
    );
    const before = ctx.events.length;
    const third = await device();
    expect(await third.send(message(CAM, 22, alarmBody(CAM, 5)))).toMatch(/^SIP\/2\.0 403/);
    expect(ctx.errorCount('camera_sip_wrong_source')).toBe(1);
    expect(ctx.events.length).toBe(before);
    // the registered socket itself is still heard
    expect(await dev.send(message(CAM, 23, alarmBody(CAM, 6)))).toMatch(/^SIP\/2\.0 200/);
    expect(ctx.events.length).toBe(before + 1);
  });

  it("an NVR's alarms from its listed channels are events of that NVR naming the channel; other ids get 403", async () => {
    const dev = await device();
    expect((await register(dev, T, { device: NVR, password: PASSWORD, cseq: 30 })).answer).toMatch(
      /^SIP\/2\.0 200/,
    );
    expect(await dev.send(message(NVR, 32, alarmBody(NVR_ALARM_IN, 7)))).toMatch(/^SIP\/2\.0 200/);
    expect(ctx.events.at(-1)).toMatchObject({
      device: 'yard-nvr',
      type: 'intrusion',
      data: { gb_device: NVR_ALARM_IN, gb_channel: NVR_ALARM_IN },
    });
    expect(await dev.send(message(NVR, 33, alarmBody(NVR_CAMERA, 8)))).toMatch(/^SIP\/2\.0 200/);
    expect(ctx.events.at(-1)).toMatchObject({ device: 'yard-nvr', data: { gb_channel: NVR_CAMERA } });
    const before = ctx.events.length;
    expect(await dev.send(message(NVR, 34, alarmBody(NOT_A_CHANNEL, 9)))).toMatch(/^SIP\/2\.0 403/);
    expect(await dev.send(message(NVR, 35, alarmBody(CAM, 10)))).toMatch(/^SIP\/2\.0 403/);
    expect(ctx.events.length).toBe(before);
    expect(ctx.errorCount('camera_sip_wrong_device')).toBe(2);
  });

  it('keeps longitude, latitude, alarm and event type, and confirms the alarm with a Response MESSAGE to the device', async () => {
    const dev = await device();
    expect((await register(dev, T, { device: CAM, password: PASSWORD, cseq: 40 })).answer).toMatch(
      /^SIP\/2\.0 200/,
    );
    const where =
      '\r\n<Longitude>120.153576</Longitude>\r\n<Latitude>30.287459</Latitude>\r\n<Info><AlarmType>6</AlarmType><AlarmTypeParam><EventType>1</EventType></AlarmTypeParam></Info>';
    const body = Buffer.from(
      alarmBody(CAM, 41).toString().replace('\r\n<Info><AlarmType>6</AlarmType></Info>', where),
    );
    expect(await dev.send(message(CAM, 42, body))).toMatch(/^SIP\/2\.0 200/);
    expect(ctx.events.at(-1)).toMatchObject({
      device: 'gate-cam',
      data: { longitude: 120.153576, latitude: 30.287459, alarm_type: 6, event_type: 1 },
    });
    // §9.4.2 c: a MESSAGE of the server's own, to the registered contact, retransmitted until answered.
    await waitFor('the Response MESSAGE, twice', () => dev.incoming.length >= 2);
    const resp = dev.incoming;
    expect(resp[0]).toMatch(new RegExp(`^MESSAGE sip:${CAM}@127\\.0\\.0\\.1:${dev.port} SIP/2\\.0\\r\\n`));
    expect(resp[0]).toMatch(new RegExp(`From: <sip:${T.serverId}@${T.realm}>`));
    expect(resp[0]).toMatch(
      new RegExp(
        `<Response>\\r\\n<CmdType>Alarm</CmdType>\\r\\n<SN>41</SN>\\r\\n<DeviceID>${CAM}</DeviceID>\\r\\n<Result>OK</Result>`,
      ),
    );
    expect(resp[1]).toBe(resp[0]);
    dev.answer(resp[0]!, 200, 'OK');
    expect(ctx.failures).toEqual([]);
  });
  it('bound to all interfaces, the Response MESSAGE names the address that faces the device in Via', async () => {
    const wide = createRecordingContext(mkdtempSync(join(tmpdir(), 'gb-trust-any-')));
    const any = createCameraDriver(
      cameraConfigSchema.parse({
        http: { port: 0, bind: '127.0.0.1' },
        sip: { port: 0, bind: '0.0.0.0', realm: T.realm, serverId: T.serverId, password: PASSWORD },
        cameras: [{ id: 'gate-cam', auth: { type: 'basic', username: 'u', password: 'p' }, gbDeviceId: CAM }],
      }),
    );
    await any.start(wide);
    const dev = await openGbDevice(() => any.ports().sip!);
    try {
      expect((await register(dev, T, { device: CAM, password: PASSWORD, cseq: 50 })).answer).toMatch(
        /^SIP\/2\.0 200/,
      );
      expect(await dev.send(message(CAM, 52, alarmBody(CAM, 51)))).toMatch(/^SIP\/2\.0 200/);
      await waitFor('the Response MESSAGE', () => dev.incoming.length > 0);
      expect(dev.incoming[0]).toMatch(
        new RegExp(`\r\nVia: SIP/2\.0/UDP 127\.0\.0\.1:${any.ports().sip};rport;branch=`),
      );
      dev.answer(dev.incoming[0]!, 200, 'OK');
    } finally {
      dev.close();
      await any.stop();
    }
  });
});
