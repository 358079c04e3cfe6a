import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from '@village/test-kit';
import { describe, expect, it } from 'vitest';
import type { Driver } from '../src/driver.js';
import { createLorawanDriver } from '../src/lorawan/index.js';
import { createModbusDriver, modbusConfigSchema } from '../src/modbus/index.js';
import { SHIPPED_PROFILES_DIR, loadProfileFile } from '../src/modbus/profile-load.js';
import { createNbiotDriver, nbiotConfigSchema } from '../src/nbiot/index.js';
import {
  type DeviceCodec,
  SHIPPED_CODECS,
  SHIPPED_CODEC_PROFILES_DIR,
  codecConformance,
  codecProfileConformance,
  driverConformance,
  loadCodecExamples,
} from '../src/testing/index.js';
import { createConfirmedUplinkGateway } from './lorawan-fixtures/confirmed-uplink.js';
import { cborBody } from './nbiot-fixtures/device-body.js';

/**
 * The conformance kit run over everything the project ships: every codec module in src/codecs
 * (found by listing the folder, so a new codec file fails here until it is registered and has
 * examples), every Modbus profile in profiles/ (listed the same way), and each driver.
 */
const CODECS_DIR = fileURLToPath(new URL('../src/codecs/', import.meta.url));
const EXAMPLES = '.examples.yaml';

describe('every shipped codec', () => {
  it('is registered and has its examples file beside it', async () => {
    const modules: string[] = [];
    // index.ts is the barrel (it re-exports the codecs); every other module is looked into.
    for (const f of readdirSync(CODECS_DIR).filter((f) => f.endsWith('.ts') && f !== 'index.ts')) {
      const mod = (await import(join(CODECS_DIR, f))) as Record<string, unknown>;
      const isCodec =
        Object.values(mod).some((v) => typeof v === 'function' && v.name === 'decodeUplink') ||
        Object.values(mod).some((v) => typeof (v as { decodeUplink?: unknown })?.decodeUplink === 'function');
      if (isCodec) modules.push(f.slice(0, -'.ts'.length));
    }
    const registered = SHIPPED_CODECS.map((s) => s.module);
    expect(modules.length).toBeGreaterThan(0);
    expect(modules.filter((m) => !registered.includes(m))).toEqual([]);
    const examples = readdirSync(CODECS_DIR)
      .filter((f) => f.endsWith(EXAMPLES))
      .map((f) => f.slice(0, -EXAMPLES.length));
    expect(registered.filter((m) => !examples.includes(m))).toEqual([]);
    expect(examples.filter((m) => !registered.includes(m))).toEqual([]);
  });

  for (const { codec, module } of SHIPPED_CODECS) {
    it(`${codec.transport}/${codec.name} passes codecConformance with ${module}${EXAMPLES}`, () => {
      const examples = loadCodecExamples(join(CODECS_DIR, `${module}${EXAMPLES}`));
      expect(codecConformance(codec, examples)).toEqual([]);
    });
  }
});

describe('every shipped JavaScript codec profile', () => {
  // Listed, not named: a new profile (or a .js file no profile uses) fails here until it passes.
  const files = readdirSync(SHIPPED_CODEC_PROFILES_DIR);
  const profiles = files.filter((f) => f.endsWith('.yaml') && !f.endsWith(EXAMPLES));
  it('the folder holds profiles, and every .js and examples file in it belongs to one', () => {
    expect(profiles.length).toBeGreaterThan(0);
    const used = new Set<string>();
    for (const f of profiles) {
      const { profile } = codecProfileConformance(join(SHIPPED_CODEC_PROFILES_DIR, f));
      used.add(profile.spec.codec.file);
      if (profile.spec.examples) used.add(profile.spec.examples);
    }
    const loose = files.filter((f) => (f.endsWith('.js') || f.endsWith(EXAMPLES)) && !used.has(f));
    expect(loose).toEqual([]);
  });
  for (const f of profiles) {
    it(`${f} passes codecConformance with the examples it names`, () => {
      expect(codecProfileConformance(join(SHIPPED_CODEC_PROFILES_DIR, f)).failures).toEqual([]);
    });
  }
});

describe('the codec kit catches what breaks the contract', () => {
  const good = loadCodecExamples(join(CODECS_DIR, `lora-pm25${EXAMPLES}`));
  it('an example whose output differs, a throw on short input, NaN in data', () => {
    const broken: DeviceCodec = {
      transport: 'lorawan',
      name: 'broken',
      decodeUplink: ({ bytes }) => {
        if (bytes.length < 2) throw new RangeError('offset is outside the bounds');
        return { data: { pm2_5: bytes[0] === 0xff ? Number.NaN : 1 }, errors: [], warnings: [] };
      },
      encodeDownlink: () => ({ bytes: [1], errors: [], warnings: [] }),
    };
    const checks = new Set(codecConformance(broken, good).map((f) => f.check));
    expect([...checks].sort()).toEqual(['downlink', 'example', 'random', 'truncated']);
  });

  it('an examples file with a bad key is refused, naming file and key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'examples-'));
    const file = join(dir, 'x.examples.yaml');
    writeFileSync(
      file,
      'examples:\n  - description: d\n    input: { bytes: "0g", fPort: 1 }\n    output: {}\n',
    );
    expect(() => loadCodecExamples(file)).toThrow(
      /x\.examples\.yaml: examples\.0\.input\.bytes: must be hex bytes/,
    );
  });
});

describe('the driver kit catches what breaks the contract', () => {
  it('a port kept after stop, an ack despite a refused emit, a replay after restart, an uncoded error', async () => {
    // A deliberately broken driver (a stand-in written for this test, not a protocol peer).
    const sock = createSocket('udp4');
    let bound = false;
    const broken: Driver = {
      inventory: () => [],
      async start() {
        if (!bound) await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        bound = true;
      },
      async stop() {},
      async command() {
        throw new Error('no such device');
      },
    };
    const failures = await driverConformance({
      name: 'broken',
      create: () => broken,
      ports: () => [{ protocol: 'udp', address: '127.0.0.1', port: sock.address().port }],
      sendUplink: async () => true,
      badCommand: { id: 'c1', device: 'nope', action: 'x', params: {} },
    });
    sock.close();
    expect(failures.map((f) => f.check).sort()).toEqual([
      'command',
      'emit_rejected',
      'emit_rejected',
      'restart_resumes',
      'stop_releases_ports',
    ]);
  });
});

describe('every shipped Modbus profile', () => {
  const profiles = readdirSync(SHIPPED_PROFILES_DIR).filter((f) => f.endsWith('.yaml'));
  it('the folder holds profiles', () => expect(profiles.length).toBeGreaterThan(0));
  for (const file of profiles) {
    it(`${file} loads and its driver passes driverConformance`, { timeout: 20_000 }, async () => {
      const profile = loadProfileFile(join(SHIPPED_PROFILES_DIR, file));
      expect(profile.points.length).toBeGreaterThan(0);
      // Nothing listens on port 9 (discard): the device is absent, which a driver must survive.
      const config = modbusConfigSchema.parse({
        transport: { type: 'tcp', host: '127.0.0.1', port: 9 },
        timeoutMs: 50,
        retries: 0,
        devices: [{ id: 'dev-1', unitId: 1, profile: file.slice(0, -'.yaml'.length), intervalMs: 60_000 }],
      });
      const failures = await driverConformance({
        name: `modbus ${file}`,
        create: () => createModbusDriver(config, { id: 'modbus-conf', configDir: SHIPPED_PROFILES_DIR }),
        badCommand: {
          id: 'c1',
          device: 'dev-1',
          action: 'write',
          params: { point: 'no_such_point', value: 1 },
        },
      });
      expect(failures).toEqual([]);
    });
  }
});

describe('drivers', () => {
  it(
    'LoRaWAN: a refused emit withholds the ACK of a confirmed uplink and its retry is taken; commands fail with a code; stop releases the port',
    { timeout: 60_000 },
    async () => {
      const device = {
        id: 'conf-1',
        devEui: '70b3d57ed00000c1',
        codec: 'cayenne' as const,
        activation: 'abp' as const,
        devAddr: '260100c1',
        nwkSKey: '2b7e151628aed2a6abf7158809cf4fc1',
        appSKey: '3c4fcf098815f7aba6d2ae2816157ec1',
      };
      const gatewayEui = 'aa555a00000000c1';
      const gateway = createConfirmedUplinkGateway(gatewayEui, device);
      const port = (d: Driver) => (d as ReturnType<typeof createLorawanDriver>).port();
      const failures = await driverConformance({
        name: 'lorawan',
        create: () =>
          createLorawanDriver({
            port: 0,
            bind: '127.0.0.1',
            gateways: [{ eui: gatewayEui }],
            dedupWindowMs: 50,
            devices: [device],
          }),
        ports: (d) => [{ protocol: 'udp', address: '127.0.0.1', port: port(d) }],
        sendUplink: (d, n) => gateway.send(port(d), n),
        badCommand: { id: 'c1', device: 'nope', action: 'downlink', params: {} },
      });
      gateway.close();
      expect(failures).toEqual([]);
    },
  );

  it(
    'NB-IoT: a refused emit withholds the 2.04, commands fail with a code, stop releases the port',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nbiot-conf-'));
      const device = { imei: '860000000000042', key: '00112233445566778899aabbccddeeff' };
      const config = nbiotConfigSchema.parse({
        port: 0,
        bind: '127.0.0.1',
        devices: [{ id: 'smoke-1', imei: device.imei, key: device.key, codec: 'smoke-detector' }],
      });
      const failures = await driverConformance({
        name: 'nbiot',
        create: () => createNbiotDriver(config),
        ports: (d: Driver) => [
          { protocol: 'udp', address: '127.0.0.1', port: (d as ReturnType<typeof createNbiotDriver>).port() },
        ],
        // The device is libcoap's coap-client-notls posting a documented envelope; 2.04 is the ack.
        async sendUplink(d, n) {
          const file = join(dir, `up-${n}.bin`);
          const payload = Uint8Array.from([0x00, 0x00, 0x05, 0x00, 0xf5, 0x61]);
          writeFileSync(file, cborBody(device.key, device.imei, { counter: 100 + n, payload }));
          const port = (d as ReturnType<typeof createNbiotDriver>).port();
          const r = await runTool('coap-client-notls', [
            '-m',
            'post',
            '-t',
            '60',
            '-f',
            file,
            '-B',
            '15',
            `coap://127.0.0.1:${port}/t/${device.imei}`,
          ]);
          return r.code === 0 && r.stderr.trim() === '';
        },
        badCommand: { id: 'c1', device: 'nope', action: 'self_test', params: {} },
      });
      expect(failures).toEqual([]);
    },
  );
});
