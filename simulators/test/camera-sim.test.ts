import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Test-only: the simulators are checked against the real edge driver (src never imports it).
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '@village/device-drivers/camera';
import type { DeviceEvent } from '@village/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGb28181Device, createIsapiCamera, createJsonCamera } from '../src/camera/index.js';

const events: DeviceEvent[] = [];
const errors: string[] = [];
let driver: CameraDriver;
let baseUrl: string;

beforeAll(async () => {
  driver = createCameraDriver(
    cameraConfigSchema.parse({
      http: { port: 0, bind: '127.0.0.1' },
      sip: {
        port: 0,
        bind: '127.0.0.1',
        realm: '3402000000',
        serverId: '34020000002000000001',
        password: 'gb-pass',
      },
      cameras: [
        { id: 'isapi-cam', auth: { type: 'digest', username: 'admin', password: 'hik-pass' } },
        { id: 'json-cam', auth: { type: 'hmac', secret: 'json-secret' } },
        {
          id: 'gb-cam',
          auth: { type: 'basic', username: 'x', password: 'y' },
          gbDeviceId: '34020000001320000009',
        },
      ],
    }),
  );
  const noop = () => {};
  await driver.start({
    id: 'camera-sim-test',
    emitReadings: async () => {},
    emitEvent: async (e) => {
      events.push(e);
    },
    countError: (r) => errors.push(r),
    log: { debug: noop, info: noop, warn: noop, error: noop },
    now: () => Date.now(),
    dataDir: mkdtempSync(join(tmpdir(), 'camera-sim-')),
    signal: new AbortController().signal,
    fail: (e) => errors.push(e.message),
  });
  baseUrl = `http://127.0.0.1:${driver.ports().http}`;
});

afterAll(async () => {
  await driver.stop();
});

describe('camera simulators against the edge driver', () => {
  it(
    'ISAPI camera: digest auth, multipart snapshot, fire alarm; wrong password 401',
    { timeout: 30_000 },
    async () => {
      const cam = createIsapiCamera({
        baseUrl,
        cameraId: 'isapi-cam',
        auth: { type: 'digest', username: 'admin', password: 'hik-pass' },
      });
      const jpeg = Buffer.concat([
        Buffer.from([0xff, 0xd8, 0xff]),
        Buffer.alloc(500, 7),
        Buffer.from([0xff, 0xd9]),
      ]);
      expect(await cam.alarm({ eventType: 'fireDetection', snapshot: jpeg })).toBe(200);
      const ev = events.find((e) => e.device === 'isapi-cam')!;
      expect(ev).toMatchObject({ type: 'fire', severity: 'critical' });
      expect(ev.data.snapshot_sha256).toBe(createHash('sha256').update(jpeg).digest('hex'));
      expect(readFileSync(ev.data.snapshot_path as string)).toEqual(jpeg);
      expect(await cam.heartbeat()).toBe(200);
      const wrong = createIsapiCamera({
        baseUrl,
        cameraId: 'isapi-cam',
        auth: { type: 'digest', username: 'admin', password: 'nope' },
      });
      expect(await wrong.alarm({ eventType: 'VMD' })).toBe(401);
    },
  );

  it('JSON camera: HMAC-signed plate event with a snapshot', { timeout: 30_000 }, async () => {
    const cam = createJsonCamera({
      baseUrl,
      cameraId: 'json-cam',
      auth: { type: 'hmac', secret: 'json-secret' },
    });
    expect(
      await cam.event(
        { type: 'vehicle_plate', plate: '浙B54321' },
        Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]),
      ),
    ).toBe(200);
    const ev = events.find((e) => e.device === 'json-cam')!;
    expect(ev).toMatchObject({ type: 'vehicle_plate', severity: 'info', data: { plate: '浙B54321' } });
    expect(existsSync(ev.data.snapshot_path as string)).toBe(true);
    const forged = createJsonCamera({
      baseUrl,
      cameraId: 'json-cam',
      auth: { type: 'hmac', secret: 'guess' },
    });
    expect(await forged.event({ type: 'fire' })).toBe(401);
  });

  it(
    'GB/T 28181 device: registers with digest, keeps alive, and its tripwire alarm becomes intrusion',
    { timeout: 30_000 },
    async () => {
      const dev = createGb28181Device({
        host: '127.0.0.1',
        port: driver.ports().sip!,
        deviceId: '34020000001320000009',
        serverId: '34020000002000000001',
        domain: '3402000000',
        password: 'gb-pass',
      });
      try {
        expect(await dev.alarm({ priority: 1, method: 5, type: 5 })).toBe(403); // not registered yet
        expect(await dev.register()).toBe(200);
        expect(await dev.keepalive()).toBe(200);
        expect(await dev.alarm({ priority: 1, method: 5, type: 5, description: 'east fence' })).toBe(200);
        expect(events.at(-1)).toMatchObject({
          device: 'gb-cam',
          type: 'intrusion',
          data: { description: 'east fence', alarm_type: 5 },
        });
      } finally {
        dev.close();
      }
    },
  );
});
