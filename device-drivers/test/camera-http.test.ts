import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CameraDriver, cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The camera HTTP listener against curl (an HTTP client we did not write, with its own RFC 7616
 * digest implementation), posting the ISAPI XML fixtures and multipart snapshots.
 */
const fixtures = join(import.meta.dirname, 'camera-fixtures');
const dir = mkdtempSync(join(tmpdir(), 'camera-test-'));
let ctx: RecordingContext;
let driver: CameraDriver;
let base: string;

// a JPEG-shaped blob: SOI marker, some bytes, EOI marker
function jpeg(seed: number, size = 4000): Buffer {
  const b = Buffer.alloc(size, seed);
  b.set([0xff, 0xd8, 0xff, 0xe0], 0);
  b.set([0xff, 0xd9], size - 2);
  return b;
}

async function curl(args: string[]) {
  const r = await runTool('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '20',
    ...args,
  ]);
  return Number(r.stdout.toString());
}

beforeAll(async () => {
  process.env.CAM_TEST_DIGEST_PASSWORD = 'd1gest-pass';
  ctx = createRecordingContext(join(dir, 'data'));
  driver = createCameraDriver(
    cameraConfigSchema.parse({
      http: { port: 0, bind: '127.0.0.1', maxBodyBytes: 64 * 1024 },
      snapshots: { maxImageBytes: 20_000, maxTotalBytes: 10_000 },
      intrusionSeverity: 'critical',
      cameras: [
        {
          id: 'gate-cam',
          auth: { type: 'digest', username: 'hik', password: '${CAM_TEST_DIGEST_PASSWORD}' },
        },
        { id: 'square-cam', auth: { type: 'basic', username: 'cam', password: 'basic-pass' } },
        { id: 'road-cam', auth: { type: 'hmac', secret: 'hmac-secret-0123456789' } },
        { id: 'quiet-cam', auth: { type: 'basic', username: 'q', password: 'q' }, heartbeatTimeoutMs: 300 },
      ],
    }),
  );
  await driver.start(ctx);
  base = `http://127.0.0.1:${driver.ports().http}`;
});

afterAll(async () => {
  await driver.stop();
});

describe('camera HTTP push with curl', () => {
  it(
    'ISAPI line-crossing alert with a multipart snapshot under digest auth becomes an intrusion event',
    { timeout: 30_000 },
    async () => {
      const img = jpeg(1);
      writeFileSync(join(dir, 'snap1.jpg'), img);
      const code = await curl([
        '--digest',
        '-u',
        'hik:d1gest-pass',
        '-F',
        `linedetection=<${join(fixtures, 'isapi-linedetection.xml')};type=application/xml`,
        '-F',
        `linedetectionPicture=@${join(dir, 'snap1.jpg')};type=image/jpeg`,
        `${base}/cam/gate-cam/isapi`,
      ]);
      expect(code).toBe(200);
      const ev = ctx.events.find((e) => e.device === 'gate-cam');
      expect(ev).toMatchObject({
        type: 'intrusion',
        severity: 'critical',
        data: { source: 'isapi', camera_event: 'linedetection', channel: '1' },
      });
      const path = ev!.data.snapshot_path as string;
      expect(existsSync(path)).toBe(true);
      const sha = createHash('sha256').update(img).digest('hex');
      expect(ev!.data.snapshot_sha256).toBe(sha);
      expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(sha);
    },
  );

  it('wrong digest password is refused with 401 and a counter', { timeout: 30_000 }, async () => {
    // only gate-cam's events: quiet-cam's offline event may land meanwhile on a loaded machine
    const gateEvents = () => ctx.events.filter((e) => e.device === 'gate-cam').length;
    const before = gateEvents();
    const code = await curl([
      '--digest',
      '-u',
      'hik:wrong',
      '-H',
      'content-type: application/xml',
      '--data-binary',
      `@${join(fixtures, 'isapi-linedetection.xml')}`,
      `${base}/cam/gate-cam/isapi`,
    ]);
    expect(code).toBe(401);
    expect(ctx.errorCount('camera_http_auth_bad_credentials')).toBeGreaterThanOrEqual(1);
    expect(gateEvents()).toBe(before);
  });

  it(
    'ANPR alert (plain XML, basic auth) becomes vehicle_plate with the plate',
    { timeout: 30_000 },
    async () => {
      const code = await curl([
        '-u',
        'cam:basic-pass',
        '-H',
        'content-type: application/xml',
        '--data-binary',
        `@${join(fixtures, 'isapi-anpr.xml')}`,
        `${base}/cam/square-cam/isapi`,
      ]);
      expect(code).toBe(200);
      expect(ctx.events).toContainEqual(
        expect.objectContaining({
          device: 'square-cam',
          type: 'vehicle_plate',
          severity: 'info',
          data: expect.objectContaining({ plate: '浙A12345' }),
        }),
      );
      expect(
        await curl([
          '-u',
          'cam:nope',
          '--data-binary',
          `@${join(fixtures, 'isapi-anpr.xml')}`,
          `${base}/cam/square-cam/isapi`,
        ]),
      ).toBe(401);
    },
  );

  it('generic JSON alarm with a snapshot part, HMAC-signed', { timeout: 30_000 }, async () => {
    const img = jpeg(2, 3000);
    writeFileSync(join(dir, 'snap2.jpg'), img);
    const event = JSON.stringify({ type: 'smoke', time: '2026-11-28T20:10:00+08:00', zone: 'barn' });
    writeFileSync(join(dir, 'event.json'), event);
    // Sign a fixed multipart body: build it by hand so the signature covers exactly what is sent.
    const boundary = 'village-test-boundary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="event"\r\nContent-Type: application/json\r\n\r\n${event}\r\n`,
      ),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="snapshot"; filename="s.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      img,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    writeFileSync(join(dir, 'body.bin'), body);
    const ts = String(Date.now());
    const sig = createHmac('sha256', 'hmac-secret-0123456789')
      .update(`${ts}.POST /cam/road-cam/events.`)
      .update(body)
      .digest('hex');
    const args = [
      '-H',
      `content-type: multipart/form-data; boundary=${boundary}`,
      '-H',
      `x-village-timestamp: ${ts}`,
      '-H',
      `x-village-signature: ${sig}`,
      '--data-binary',
      `@${join(dir, 'body.bin')}`,
      `${base}/cam/road-cam/events`,
    ];
    expect(await curl(args)).toBe(200);
    const ev = ctx.events.find((e) => e.device === 'road-cam');
    expect(ev).toMatchObject({ type: 'smoke', severity: 'critical', data: { source: 'json', zone: 'barn' } });
    expect(ev!.data.snapshot_sha256).toBe(createHash('sha256').update(img).digest('hex'));
    // the same signed request again is a replay
    expect(await curl(args)).toBe(401);
    expect(ctx.errorCount('camera_http_auth_replay')).toBe(1);
  });

  it(
    'snapshots stay under the total cap: the oldest is deleted and counted',
    { timeout: 30_000 },
    async () => {
      const dirOf = join(ctx.dataDir, 'snapshots');
      const evictedBefore = ctx.errorCount('camera_snapshot_evicted');
      for (let i = 0; i < 3; i++) {
        writeFileSync(join(dir, `cap${i}.jpg`), jpeg(10 + i, 4000));
        const code = await curl([
          '-u',
          'cam:basic-pass',
          '-F',
          `event={"type":"crowding","count":${40 + i}};type=application/json`,
          '-F',
          `snapshot=@${join(dir, `cap${i}.jpg`)};type=image/jpeg`,
          `${base}/cam/square-cam/events`,
        ]);
        expect(code).toBe(200);
      }
      const total = readdirSync(dirOf).reduce((s, f) => s + readFileSync(join(dirOf, f)).length, 0);
      expect(total).toBeLessThanOrEqual(10_000);
      expect(ctx.errorCount('camera_snapshot_evicted')).toBeGreaterThan(evictedBefore);
      const crowd = ctx.events.filter((e) => e.type === 'crowding');
      expect(crowd.map((e) => e.data.count)).toEqual([40, 41, 42]);
      expect(existsSync(crowd[2]!.data.snapshot_path as string)).toBe(true);
      expect(existsSync(crowd[0]!.data.snapshot_path as string)).toBe(false);
    },
  );

  it('an image over the per-image cap is dropped but the alarm still goes', { timeout: 30_000 }, async () => {
    writeFileSync(join(dir, 'big.jpg'), jpeg(3, 15_000));
    const code = await curl([
      '-u',
      'cam:basic-pass',
      '-F',
      'event={"type":"fire"}',
      '-F',
      `snapshot=@${join(dir, 'big.jpg')};type=image/jpeg`,
      `${base}/cam/square-cam/events`,
    ]);
    expect(code).toBe(200);
    // square-cam's own last event: quiet-cam's offline event may land meanwhile on a loaded machine
    expect(ctx.events.filter((e) => e.device === 'square-cam').at(-1)).toMatchObject({
      type: 'fire',
      severity: 'critical',
      data: { snapshot_dropped: 'too_large' },
    });
  });

  it(
    'bad input: malformed XML 400, bad JSON 400, oversized 413, unknown camera 401; the next good push works',
    { timeout: 60_000 },
    async () => {
      const bad = join(dir, 'bad.xml');
      writeFileSync(bad, '<EventNotificationAlert><eventType>VMD</eventType><oops></EventNotificationAlert>');
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: application/xml',
          '--data-binary',
          `@${bad}`,
          `${base}/cam/square-cam/isapi`,
        ]),
      ).toBe(400);
      expect(ctx.errorCount('camera_http_isapi_not_xml')).toBe(1);
      writeFileSync(
        bad,
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><EventNotificationAlert><eventType>&a;</eventType></EventNotificationAlert>',
      );
      expect(
        await curl(['-u', 'cam:basic-pass', '--data-binary', `@${bad}`, `${base}/cam/square-cam/isapi`]),
      ).toBe(400);
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: application/json',
          '--data-binary',
          '{"type":"meteor"}',
          `${base}/cam/square-cam/events`,
        ]),
      ).toBe(400);
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: application/json',
          '--data-binary',
          '{"type":',
          `${base}/cam/square-cam/events`,
        ]),
      ).toBe(400);
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: multipart/form-data; boundary=zzz',
          '--data-binary',
          'garbage',
          `${base}/cam/square-cam/events`,
        ]),
      ).toBe(400);
      writeFileSync(join(dir, 'huge.bin'), Buffer.alloc(200_000, 0x41));
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '--data-binary',
          `@${join(dir, 'huge.bin')}`,
          `${base}/cam/square-cam/isapi`,
        ]),
      ).toBe(413);
      expect(ctx.errorCount('camera_http_too_large')).toBe(1);
      expect(
        await curl(['-u', 'cam:basic-pass', '--data-binary', '{}', `${base}/cam/no-such-cam/events`]),
      ).toBe(401);
      expect(await curl(['-u', 'cam:basic-pass', '--data-binary', '{}', `${base}/elsewhere`])).toBe(404);

      const square = () => ctx.events.filter((e) => e.device === 'square-cam');
      const before = square().length;
      expect(
        await curl([
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: application/json',
          '--data-binary',
          '{"type":"face_match","person":"Li Wei","similarity":0.93}',
          `${base}/cam/square-cam/events`,
        ]),
      ).toBe(200);
      expect(square().length).toBe(before + 1);
      expect(square().at(-1)).toMatchObject({
        type: 'face_match',
        data: { person: 'Li Wei', similarity: 0.93 },
      });
      expect(ctx.failures).toEqual([]);
    },
  );

  it(
    'answers 503 (not 200) when the outbox cannot store the event, so the camera retries',
    { timeout: 30_000 },
    async () => {
      ctx.failEmits = true;
      try {
        const args = [
          '-u',
          'cam:basic-pass',
          '-H',
          'content-type: application/json',
          '--data-binary',
          '{"type":"intrusion"}',
          `${base}/cam/square-cam/events`,
        ];
        expect(await curl(args)).toBe(503);
      } finally {
        ctx.failEmits = false;
      }
    },
  );

  it(
    'a silent camera goes offline once, and online when heard again; heartbeats make no event',
    { timeout: 30_000 },
    async () => {
      const offline = await waitFor('offline event', () =>
        ctx.events.find((e) => e.device === 'quiet-cam' && e.type === 'offline'),
      );
      expect(offline!.severity).toBe('warning');
      expect(await curl(['-u', 'q:q', '-X', 'POST', `${base}/cam/quiet-cam/heartbeat`])).toBe(200);
      await waitFor('online event', () =>
        ctx.events.find((e) => e.device === 'quiet-cam' && e.type === 'online'),
      );
      // the Hikvision keep-alive (videoloss, inactive) counts as a heartbeat, not an alarm
      expect(
        await curl([
          '-u',
          'q:q',
          '--data-binary',
          `@${join(fixtures, 'isapi-heartbeat.xml')}`,
          `${base}/cam/quiet-cam/isapi`,
        ]),
      ).toBe(200);
      const mine = ctx.events.filter((e) => e.device === 'quiet-cam').map((e) => e.type);
      expect(mine.filter((t) => t === 'offline')).toHaveLength(1);
      expect(mine).not.toContain('camera_alarm');
    },
  );
});
