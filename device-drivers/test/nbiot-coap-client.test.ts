import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '@village/test-kit';
import { decode, encode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeUplink as smokeUplink } from '../src/codecs/nb-smoke-detector.js';
import { encodeUplink as wellUplink } from '../src/codecs/nb-well-cover.js';
import { encodeUplink as wristUplink } from '../src/codecs/nb-wristband.js';
import {
  CommandTimeoutError,
  type NbiotDriver,
  createNbiotDriver,
  nbiotConfigSchema,
} from '../src/nbiot/index.js';
import { cborBody, deviceMac, jsonBody } from './nbiot-fixtures/device-body.js';
import { type RecordingContext, createRecordingContext } from './nbiot-fixtures/recording-context.js';

/**
 * The driver against libcoap's coap-client-notls, a CoAP client we did not write. Bodies are
 * built from the documented scheme (nbiot-fixtures/device-body.ts), written to files, posted
 * with `-t 60` (application/cbor) and the answer read from coap-client's output.
 */
const SMOKE = { imei: '860000000000001', key: '00112233445566778899aabbccddeeff' };
const WELL = { imei: '860000000000002', key: 'ffeeddccbbaa99887766554433221100' };
const WRIST = { imei: '860000000000003', key: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };

const dir = mkdtempSync(join(tmpdir(), 'nbiot-test-'));
const dataDir = join(dir, 'data');
let fileNo = 0;
let ctx: RecordingContext;
let driver: NbiotDriver;

function config(overrides: Record<string, unknown> = {}) {
  process.env.NBIOT_TEST_WRIST_KEY = WRIST.key;
  return nbiotConfigSchema.parse({
    port: 0,
    bind: '127.0.0.1',
    devices: [
      { id: 'smoke-1', imei: SMOKE.imei, key: SMOKE.key, codec: 'smoke-detector' },
      { id: 'well-1', imei: WELL.imei, key: WELL.key, codec: 'well-cover' },
      // key given as an env reference, as the docs ask for real deployments
      { id: 'band-1', imei: WRIST.imei, key: '${NBIOT_TEST_WRIST_KEY}', codec: 'wristband' },
    ],
    ...overrides,
  });
}

/** Posts `body` with coap-client-notls; returns the error code line (stderr) and the response payload. */
async function post(body: Uint8Array, imei: string, contentFormat = 60) {
  const inFile = join(dir, `up-${++fileNo}.bin`);
  const outFile = join(dir, `down-${fileNo}.bin`);
  writeFileSync(inFile, body);
  writeFileSync(outFile, '');
  const r = await runTool('coap-client-notls', [
    '-m',
    'post',
    '-t',
    String(contentFormat),
    '-f',
    inFile,
    '-o',
    outFile,
    '-B',
    '15',
    `coap://127.0.0.1:${driver.port()}/t/${imei}`,
  ]);
  expect(r.code).toBe(0);
  const { readFileSync } = await import('node:fs');
  return { error: r.stderr.trim(), payload: readFileSync(outFile) };
}

beforeAll(async () => {
  ctx = createRecordingContext(dataDir);
  driver = createNbiotDriver(config());
  await driver.start(ctx);
});

afterAll(async () => {
  await driver.stop();
});

const smokeAlarm = smokeUplink({
  alarm: true,
  self_test: false,
  fault: false,
  smoke_density: 3.2,
  temperature: 41.5,
  battery: 80,
});

describe('nbiot driver with coap-client-notls', () => {
  it(
    'stores a CBOR uplink as readings and a smoke event, then answers 2.04',
    { timeout: 30_000 },
    async () => {
      const r = await post(cborBody(SMOKE.key, SMOKE.imei, { counter: 1, payload: smokeAlarm }), SMOKE.imei);
      expect(r.error).toBe('');
      const mine = ctx.readings.filter((x) => x.device === 'smoke-1');
      expect(mine.map((x) => [x.metric, x.value, x.unit])).toEqual([
        ['smoke_density', 3.2, 'dB/m'],
        ['temperature', 41.5, '°C'],
        ['battery', 80, '%'],
      ]);
      expect(ctx.events).toContainEqual(
        expect.objectContaining({ device: 'smoke-1', type: 'smoke', severity: 'critical' }),
      );
    },
  );

  it(
    'piggybacks a queued command on the next response and reports it done only after the echo',
    { timeout: 30_000 },
    async () => {
      let settled: unknown;
      const done = driver.command({
        id: 'cmd-7',
        device: 'smoke-1',
        action: 'silence',
        params: { minutes: 5 },
      });
      done.then(
        (v) => {
          settled = v;
        },
        (e) => {
          settled = e;
        },
      );

      const r = await post(cborBody(SMOKE.key, SMOKE.imei, { counter: 2, payload: smokeAlarm }), SMOKE.imei);
      expect(r.error).toBe('');
      const down = decode(r.payload) as { i: string; d: Uint8Array; m: Uint8Array };
      expect(down.i).toBe('cmd-7');
      expect([...down.d]).toEqual([0x01, 5]);
      // downlink MAC binds it to this device, this uplink's counter and this command
      expect(Buffer.from(down.m)).toEqual(deviceMac(SMOKE.key, `${SMOKE.imei}|2|cmd-7|`, down.d));
      await new Promise((r) => setImmediate(r));
      expect(settled).toBeUndefined();

      const echo = await post(
        cborBody(SMOKE.key, SMOKE.imei, { counter: 3, payload: smokeAlarm, ack: 'cmd-7' }),
        SMOKE.imei,
      );
      expect(echo.error).toBe('');
      expect(echo.payload).toHaveLength(0);
      await expect(done).resolves.toEqual({ delivered: true, confirmedBy: 3 });
    },
  );

  it('resends an unconfirmed command with the next uplink (lost response)', { timeout: 30_000 }, async () => {
    const done = driver.command({ id: 'cmd-8', device: 'smoke-1', action: 'self_test', params: {} });
    done.catch(() => {}); // asserted below; keeps the rejection from being reported as unhandled meanwhile
    const first = await post(
      cborBody(SMOKE.key, SMOKE.imei, { counter: 4, payload: smokeAlarm }),
      SMOKE.imei,
    );
    expect((decode(first.payload) as { i: string }).i).toBe('cmd-8');
    const again = await post(
      cborBody(SMOKE.key, SMOKE.imei, { counter: 5, payload: smokeAlarm }),
      SMOKE.imei,
    );
    expect((decode(again.payload) as { i: string }).i).toBe('cmd-8');
    await post(
      cborBody(SMOKE.key, SMOKE.imei, { counter: 6, payload: smokeAlarm, ack: 'cmd-8', ackError: 'busy' }),
      SMOKE.imei,
    );
    await expect(done).rejects.toThrow(/cmd-8 failed on smoke-1: busy/);
  });

  it('refuses a replayed uplink with 4.03, counts it, and stores nothing', { timeout: 30_000 }, async () => {
    const before = ctx.readings.length;
    const r = await post(cborBody(SMOKE.key, SMOKE.imei, { counter: 6, payload: smokeAlarm }), SMOKE.imei);
    expect(r.error).toMatch(/^4\.03/);
    expect(r.error).toMatch(/counter 6 not above 6/);
    expect(ctx.errorCount('nbiot_replay')).toBe(1);
    expect(ctx.readings.length).toBe(before);
  });

  it(
    'keeps refusing the replay after a restart (counter persisted in dataDir)',
    { timeout: 30_000 },
    async () => {
      await driver.stop();
      ctx = createRecordingContext(dataDir);
      driver = createNbiotDriver(config());
      await driver.start(ctx);
      const replay = await post(
        cborBody(SMOKE.key, SMOKE.imei, { counter: 5, payload: smokeAlarm }),
        SMOKE.imei,
      );
      expect(replay.error).toMatch(/^4\.03/);
      const next = await post(
        cborBody(SMOKE.key, SMOKE.imei, { counter: 7, payload: smokeAlarm }),
        SMOKE.imei,
      );
      expect(next.error).toBe('');
      expect(ctx.readings.filter((x) => x.device === 'smoke-1')).toHaveLength(3);
    },
  );

  it('well cover: JSON body (Content-Format 50) and an open-cover event', { timeout: 30_000 }, async () => {
    const payload = wellUplink({
      open: true,
      water_alarm: false,
      tilt_deg: 60,
      water_level_cm: 80,
      battery: 70,
    });
    const r = await post(jsonBody(WELL.key, WELL.imei, { counter: 1, payload }), WELL.imei, 50);
    expect(r.error).toBe('');
    expect(ctx.readings.filter((x) => x.device === 'well-1').map((x) => x.metric)).toEqual([
      'tilt_deg',
      'open',
      'battery',
      'water_level_cm',
    ]);
    expect(ctx.events).toContainEqual(
      expect.objectContaining({ device: 'well-1', type: 'well_cover_open', severity: 'critical' }),
    );
  });

  it(
    'wristband: the shared decoded model, fall and sos as critical events',
    { timeout: 30_000 },
    async () => {
      const payload = wristUplink({
        worn: true,
        fall: true,
        sos: true,
        heart_rate: 110,
        spo2: 93,
        steps: 900,
        battery: 60,
        lat: 30.5,
        lon: 120.25,
      });
      const r = await post(cborBody(WRIST.key, WRIST.imei, { counter: 1, payload }), WRIST.imei);
      expect(r.error).toBe('');
      const got = Object.fromEntries(
        ctx.readings.filter((x) => x.device === 'band-1').map((x) => [x.metric, [x.value, x.unit]]),
      );
      expect(got).toEqual({
        heart_rate: [110, 'bpm'],
        spo2: [93, '%'],
        steps: [900, 'count'],
        battery: [60, '%'],
        worn: [true, ''],
        lat: [30.5, 'deg'],
        lon: [120.25, 'deg'],
      });
      const types = ctx.events.filter((e) => e.device === 'band-1').map((e) => [e.type, e.severity]);
      expect(types).toEqual([
        ['fall', 'critical'],
        ['sos', 'critical'],
      ]);
    },
  );

  it(
    'bad input gets a CoAP error and a counter, and the next good uplink still goes through',
    { timeout: 60_000 },
    async () => {
      const cases: [string, Uint8Array, string, string, number?][] = [
        ['malformed CBOR', Buffer.from([0xbf, 0x61, 0x63, 0x1b, 0xff]), '4.00', 'nbiot_envelope_not_cbor'],
        ['CBOR array, not a map', Buffer.from([0x83, 1, 2, 3]), '4.00', 'nbiot_envelope_bad_shape'],
        [
          'counter of wrong type',
          encode({ c: 'two', p: Buffer.alloc(6), m: Buffer.alloc(8) }),
          '4.00',
          'nbiot_envelope_bad_type',
        ],
        ['oversized body', Buffer.alloc(900, 0x41), '4.13', 'nbiot_too_large'],
        [
          'wrong key',
          cborBody(SMOKE.key, WELL.imei, { counter: 50, payload: new Uint8Array(6) }),
          '4.01',
          'nbiot_bad_mac',
        ],
        ['bad JSON', Buffer.from('{"c":1,'), '4.00', 'nbiot_envelope_bad_json', 50],
        [
          'undecodable payload',
          cborBody(WELL.key, WELL.imei, { counter: 2, payload: new Uint8Array(3) }),
          '4.00',
          'nbiot_codec_error',
        ],
      ];
      for (const [what, body, code, reason, cf] of cases) {
        const r = await post(body, WELL.imei, cf);
        expect(r.error, what).toMatch(new RegExp(`^${code.replace('.', '\\.')}`));
        expect(ctx.errorCount(reason), what).toBeGreaterThanOrEqual(1);
      }
      const unknown = await post(
        cborBody(WELL.key, '869999999999999', { counter: 1, payload: new Uint8Array(6) }),
        '869999999999999',
      );
      expect(unknown.error).toMatch(/^4\.01/);
      const wrongFormat = await post(
        cborBody(WELL.key, WELL.imei, { counter: 3, payload: new Uint8Array(6) }),
        WELL.imei,
        0,
      );
      expect(wrongFormat.error).toMatch(/^4\.15/);

      const before = ctx.readings.length;
      const payload = wellUplink({ open: false, water_alarm: false, tilt_deg: 0, battery: 69 });
      const good = await post(cborBody(WELL.key, WELL.imei, { counter: 10, payload }), WELL.imei);
      expect(good.error).toBe('');
      expect(ctx.readings.length).toBe(before + 3);
      expect(ctx.failures).toEqual([]);
    },
  );

  it(
    'does not acknowledge (5.03) and does not spend the counter when the outbox fails',
    { timeout: 30_000 },
    async () => {
      const body = cborBody(SMOKE.key, SMOKE.imei, { counter: 20, payload: smokeAlarm });
      ctx.failEmits = true;
      const refused = await post(body, SMOKE.imei);
      expect(refused.error).toMatch(/^5\.03/);
      ctx.failEmits = false;
      const retried = await post(body, SMOKE.imei);
      expect(retried.error).toBe('');
    },
  );

  it('a command nobody confirms fails with a bounded timeout', { timeout: 30_000 }, async () => {
    await driver.stop();
    ctx = createRecordingContext(dataDir);
    driver = createNbiotDriver(config({ commandTimeoutMs: 200 }));
    await driver.start(ctx);
    const err = await driver
      .command({ id: 'cmd-9', device: 'well-1', action: 'set_tilt_threshold', params: { degrees: 30 } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    await expect(driver.command({ id: 'c', device: 'nope', action: 'x', params: {} })).rejects.toThrow(
      /no device/,
    );
    await expect(
      driver.command({ id: 'c', device: 'well-1', action: 'explode', params: {} }),
    ).rejects.toThrow(/no action/);
  });
});
