import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NbiotDriver,
  createNbiotDriver,
  nbiotConfigSchema,
  nbiotDriverKind,
} from '../src/nbiot/index.js';
import { type ConformanceContext, createConformanceContext } from '../src/testing/index.js';
import { cborBody } from './nbiot-fixtures/device-body.js';

/**
 * JavaScript codecs on the NB-IoT driver, through real CoAP (libcoap's coap-client-notls as the
 * devices): a shipped profile's codec decodes one device's uplinks, while a deliberately bad
 * codec (test/codec-fixtures/runaway.js) on another device loops forever, allocates without
 * bound and throws; each is stopped, refused with 4.00 naming its code, counted and logged, and
 * the good device is served throughout.
 */
const PROFILES = fileURLToPath(new URL('../profiles/codecs/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./codec-fixtures/', import.meta.url));
const GAUGE = { imei: '860000000000201', key: '00112233445566778899aabbccddeeff' };
const BAD = { imei: '860000000000202', key: 'ffeeddccbbaa99887766554433221100' };

describe('NB-IoT driver with JavaScript codec profiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nbiot-js-'));
  let driver: NbiotDriver;
  let ctx: ConformanceContext;
  const warnings: { obj: Record<string, unknown>; msg?: string }[] = [];
  const counters = new Map<string, number>();
  let n = 0;

  beforeAll(async () => {
    const config = nbiotConfigSchema.parse({
      port: 0,
      bind: '127.0.0.1',
      devices: [
        { id: 'gauge-1', ...GAUGE, codecProfile: 'river-gauge.yaml' },
        { id: 'bad-1', ...BAD, codecProfile: join(FIXTURES, 'runaway.yaml') },
      ],
    });
    driver = createNbiotDriver(config, { configDir: PROFILES });
    ctx = createConformanceContext(dir);
    ctx.log.warn = (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg });
    await driver.start(ctx);
  });
  afterAll(() => driver.stop());

  async function post(dev: typeof GAUGE, payload: number[]) {
    const counter = (counters.get(dev.imei) ?? 0) + 1;
    counters.set(dev.imei, counter);
    const file = join(dir, `up-${++n}.bin`);
    writeFileSync(file, cborBody(dev.key, dev.imei, { counter, payload: Uint8Array.from(payload) }));
    const r = await runTool('coap-client-notls', [
      '-m',
      'post',
      '-t',
      '60',
      '-f',
      file,
      '-B',
      '30',
      `coap://127.0.0.1:${driver.port()}/t/${dev.imei}`,
    ]);
    return `${r.stdout.toString()}${r.stderr}`;
  }
  const levels = () =>
    ctx.readings.filter((r) => r.device === 'gauge-1' && r.metric === 'water_level').map((r) => r.value);

  it('inventory names the profile and its metrics', () => {
    expect(driver.inventory()).toEqual([
      {
        id: 'gauge-1',
        kind: 'nbiot-river-gauge',
        driver: 'nbiot',
        metrics: [
          { name: 'water_level', unit: 'cm' },
          { name: 'battery', unit: '%' },
        ],
      },
      { id: 'bad-1', kind: 'nbiot-runaway', driver: 'nbiot', metrics: [{ name: 'level', unit: 'cm' }] },
    ]);
  });

  it('the good device is decoded by its JavaScript codec; its flood flag is an event', async () => {
    expect(await post(GAUGE, [0x01, 0xc7, 75, 1])).not.toMatch(/[45]\.\d\d/);
    expect(levels()).toEqual([455]);
    expect(ctx.events).toEqual([expect.objectContaining({ device: 'gauge-1', type: 'flood_warning' })]);
  });

  for (const [what, byte, code] of [
    ['loops forever', 0xff, 'js_codec_timeout'],
    ['allocates without bound', 0xfe, 'js_codec_memory'],
    ['throws', 0xfd, 'js_codec_throw'],
  ] as const) {
    it(`a codec that ${what} is stopped and refused with ${code}; the other device is still served`, async () => {
      const before = ctx.errors.get('nbiot_codec_error') ?? 0;
      const out = await post(BAD, [byte]);
      expect(out).toMatch(/4\.00/);
      expect(ctx.errors.get('nbiot_codec_error')).toBe(before + 1);
      expect(warnings.at(-1)?.obj.detail).toMatch(new RegExp(`^payload: ${code}: runaway: `));
      const served = levels().length;
      expect(await post(GAUGE, [0x01, 0x38, 76, 0])).not.toMatch(/[45]\.\d\d/);
      expect(levels()).toHaveLength(served + 1);
      // And the bad codec itself recovers for a frame it can decode.
      expect(await post(BAD, [12])).not.toMatch(/[45]\.\d\d/);
      expect(ctx.readings.filter((r) => r.device === 'bad-1').at(-1)?.value).toBe(12);
    });
  }
});

describe('a codec profile in the edge config check', () => {
  it('a missing or broken profile is a config issue naming the device key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbiot-js-check-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      'name: p\ntransport: lorawan\ncodec: { file: p.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    writeFileSync(join(dir, 'p.js'), 'function decodeUplink() { return { data: {} }; }');
    const config = nbiotConfigSchema.parse({
      devices: [
        { id: 'a', ...GAUGE, codecProfile: 'missing.yaml' },
        { id: 'b', ...BAD, codecProfile: 'p.yaml' },
      ],
    });
    const issues = nbiotDriverKind.check!(config, { configDir: dir });
    expect(issues).toEqual([
      { path: ['devices', 0, 'codecProfile'], message: expect.stringMatching(/missing\.yaml: cannot read/) },
      {
        path: ['devices', 1, 'codecProfile'],
        message: expect.stringMatching(/p\.yaml: transport: is lorawan, but device b is on a nbiot driver/),
      },
    ]);
  });
  it('neither or both of codec and codecProfile is refused by the schema', () => {
    const r = nbiotConfigSchema.safeParse({ devices: [{ id: 'a', ...GAUGE }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({
      path: ['devices', 0, 'codec'],
      message: expect.stringMatching(/exactly one of codec/),
    });
  });
});
