import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '@village/test-kit';
import { describe, expect, it } from 'vitest';
import { cameraConfigSchema, createCameraDriver } from '../src/camera/index.js';
import { createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * Issue 13 finding 10: an HMAC-signed camera push replayed after an edge restart (same data dir,
 * within the allowed clock skew) must be refused, as it is before the restart. curl is the camera.
 */
const dir = mkdtempSync(join(tmpdir(), 'cam-hmac-restart-'));
const SECRET = 'hmac-restart-secret-0123';
const config = cameraConfigSchema.parse({
  http: { port: 0, bind: '127.0.0.1' },
  cameras: [{ id: 'road-cam', auth: { type: 'hmac', secret: SECRET } }],
});

async function post(port: number, ts: number, body: string) {
  const file = join(dir, `body-${ts}.json`);
  writeFileSync(file, body);
  const sig = createHmac('sha256', SECRET)
    .update(`${ts}.POST /cam/road-cam/events.`)
    .update(body)
    .digest('hex');
  const r = await runTool('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '20',
    '-H',
    'content-type: application/json',
    '-H',
    `x-village-timestamp: ${ts}`,
    '-H',
    `x-village-signature: ${sig}`,
    '--data-binary',
    `@${file}`,
    `http://127.0.0.1:${port}/cam/road-cam/events`,
  ]);
  return Number(r.stdout.toString());
}

describe('camera HMAC replay across an edge restart', () => {
  it(
    'a signed push replayed after the restart gets 401; a fresh one is taken',
    { timeout: 30_000 },
    async () => {
      const body = '{"type":"intrusion","zone":"gate"}';
      const ts = Date.now();
      const first = createRecordingContext(join(dir, 'data'));
      const before = createCameraDriver(config);
      await before.start(first);
      try {
        expect(await post(before.ports().http, ts, body)).toBe(200);
        expect(await post(before.ports().http, ts, body)).toBe(401);
      } finally {
        await before.stop();
      }
      const second = createRecordingContext(join(dir, 'data'));
      const after = createCameraDriver(config);
      await after.start(second);
      try {
        expect(await post(after.ports().http, ts, body)).toBe(401);
        expect(second.errorCount('camera_http_auth_replay')).toBe(1);
        expect(second.events).toEqual([]);
        expect(await post(after.ports().http, ts + 1, body)).toBe(200);
        expect(second.events).toHaveLength(1);
      } finally {
        await after.stop();
      }
    },
  );
});
