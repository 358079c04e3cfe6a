import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The simulators are the real peer: a Semtech UDP gateway and LoRaWAN end devices building
// encrypted frames with lora-packet over UDP (imported from source: device-drivers does not
// depend on the simulators package).
import { type LorawanSimulation, startLorawanSimulation } from '../../simulators/src/lorawan/index.js';
import {
  type LorawanDriver,
  createLorawanDriver,
  lorawanConfigSchema,
  lorawanDriverKind,
} from '../src/lorawan/index.js';
import { type RecordingContext, createRecordingContext } from './lorawan-fixtures/recording-context.js';

/**
 * The LoRaWAN walk-through of docs/vendor-guide.md: the shipped acme-soil profile (a JavaScript
 * codec) decodes a simulated device's uplinks into readings with units and its dry alarm into an
 * event, while another device's codec loops forever, is stopped at its deadline, counted and
 * logged as `codec_error`, and the first device goes on being served.
 */
const PROFILES = fileURLToPath(new URL('../profiles/codecs/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./codec-fixtures/', import.meta.url));
const GATEWAY = 'aa555a00000000d1';
const soil = {
  id: 'soil-1',
  devEui: '70b3d57ed00000d1',
  activation: 'abp' as const,
  devAddr: '260100d1',
  nwkSKey: '2b7e151628aed2a6abf7158809cf4fd1',
  appSKey: '3c4fcf098815f7aba6d2ae2816157ed1',
};
const bad = { ...soil, id: 'bad-1', devEui: '70b3d57ed00000d2', devAddr: '260100d2' };

describe('LoRaWAN driver with JavaScript codec profiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lorawan-js-'));
  let ctx: RecordingContext;
  let driver: LorawanDriver;
  let sim: LorawanSimulation;

  beforeAll(async () => {
    // The looping codec of the fixtures, as a LoRaWAN profile the vendor put beside edge.yaml.
    copyFileSync(join(FIXTURES, 'runaway.js'), join(dir, 'runaway.js'));
    writeFileSync(
      join(dir, 'runaway.yaml'),
      'name: runaway\ntransport: lorawan\ncodec: { file: runaway.js, timeoutMs: 200 }\nmetrics: [{ name: level, unit: cm }]\n',
    );
    ctx = createRecordingContext();
    driver = createLorawanDriver(
      {
        port: 0,
        bind: '127.0.0.1',
        gateways: [{ eui: GATEWAY }],
        dedupWindowMs: 50,
        devices: [
          { ...soil, codecProfile: join(PROFILES, 'acme-soil.yaml') },
          { ...bad, codecProfile: 'runaway.yaml' },
        ],
      },
      {},
      dir,
    );
    await driver.start(ctx);
    sim = await startLorawanSimulation({
      serverPort: driver.port(),
      gatewayEuis: [GATEWAY],
      // The simulator's own codec is unused here: the test sends the vendor's bytes.
      devices: [
        { ...soil, codec: 'cayenne' },
        { ...bad, codec: 'cayenne' },
      ],
      keepaliveMs: 1000,
    });
    await waitFor('PULL_ACK', () => sim.gateways.every((g) => g.stats.pullAcks > 0));
  }, 30_000);

  afterAll(async () => {
    await sim?.stop();
    await driver?.stop();
    ctx?.cleanup();
  });

  const send = (id: string, hex: string) =>
    sim.devices.get(id)!.uplink({ fPort: 2, bytes: Uint8Array.from(Buffer.from(hex, 'hex')) });
  const moisture = () => ctx.readings.filter((r) => r.device === 'soil-1' && r.metric === 'moisture');

  it('inventory names the profile, its metrics and the radio metrics', () => {
    expect(driver.inventory()[0]).toEqual({
      id: 'soil-1',
      kind: 'lorawan-acme-soil',
      driver: 'lorawan',
      metrics: [
        { name: 'moisture', unit: '%' },
        { name: 'soil_temperature', unit: '°C' },
        { name: 'battery', unit: '%' },
        { name: 'rssi', unit: 'dBm' },
        { name: 'snr', unit: 'dB' },
        { name: 'gateways', unit: 'count' },
      ],
    });
  });

  it('uplinks are decoded by the JavaScript codec; the dry flag raises one event', async () => {
    send('soil-1', '019c00b95700');
    await waitFor('the first moisture reading', () => moisture().length === 1);
    expect(moisture()[0]).toMatchObject({ value: 41.2, unit: '%' });
    expect(ctx.readings.find((r) => r.device === 'soil-1' && r.metric === 'soil_temperature')).toMatchObject({
      value: 18.5,
      unit: '°C',
    });
    send('soil-1', '0046ffe70801');
    send('soil-1', '0040ffe70801');
    await waitFor('three moisture readings', () => moisture().length === 3);
    expect(ctx.events.filter((e) => e.device === 'soil-1')).toEqual([
      expect.objectContaining({ type: 'soil_dry', severity: 'warning' }),
    ]);
  });

  it('a codec that loops forever is stopped, counted and logged; the other device is still served', async () => {
    send('bad-1', 'ff');
    await waitFor('the codec error counted', () => ctx.errorCount('codec_error') === 1);
    expect(
      ctx.logs.some(
        (l) =>
          l.level === 'warn' &&
          /bad-1: js_codec_timeout: runaway: decodeUplink ran longer than 200 ms/.test(l.msg ?? ''),
      ),
    ).toBe(true);
    send('soil-1', '01f400c85000');
    await waitFor('the next moisture reading', () => moisture().length === 4);
    send('bad-1', '0c');
    await waitFor("the bad codec's next good frame", () =>
      ctx.readings.some((r) => r.device === 'bad-1' && r.metric === 'level' && r.value === 12),
    );
  });
});

describe('LoRaWAN config with codec profiles', () => {
  it('the edge config check names a broken profile by its device key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorawan-js-check-'));
    writeFileSync(
      join(dir, 'x.yaml'),
      'name: x\ntransport: lorawan\ncodec: { file: x.js }\nmetrics: [{ name: a, unit: "" }]\n',
    );
    writeFileSync(join(dir, 'x.js'), 'function decodeUplink( {');
    const config = lorawanConfigSchema.parse({ devices: [{ ...soil, codecProfile: 'x.yaml' }] });
    expect(lorawanDriverKind.check!(config, { configDir: dir })).toEqual([
      {
        path: ['devices', 0, 'codecProfile'],
        message: expect.stringMatching(/x\.yaml: codec\.file: .*js_codec_compile: SyntaxError/),
      },
    ]);
  });
  it('an unknown built-in codec is still refused with the choices', () => {
    const r = lorawanConfigSchema.safeParse({ devices: [{ ...soil, codec: 'acme-soil' }] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/cayenne/);
  });
});
