import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modbusConfigSchema } from '../src/modbus/modbus-config.js';
import { createModbusDriver } from '../src/modbus/modbus-driver.js';
import { ProfileError } from '../src/modbus/modbus-errors.js';
import { loadProfileFile, parseProfile, shippedProfilePath } from '../src/modbus/profile-load.js';

const fixtures = fileURLToPath(new URL('./modbus-fixtures/', import.meta.url));

function refusal(fn: () => unknown): ProfileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    return err as ProfileError;
  }
  throw new Error('expected a ProfileError');
}

describe('device profiles', () => {
  it('loads every shipped profile with the metrics the issue asks for', () => {
    const metrics = (name: string) =>
      loadProfileFile(shippedProfilePath(name)).points.map((p) => p.metric ?? p.name);
    expect(metrics('pm25-sensor')).toEqual(expect.arrayContaining(['pm2_5', 'pm10']));
    expect(metrics('water-probe')).toEqual(
      expect.arrayContaining([
        'ph',
        'dissolved_oxygen',
        'turbidity',
        'conductivity',
        'water_temperature',
        'nh3_n',
        'cod',
      ]),
    );
    expect(metrics('weather-station')).toEqual(
      expect.arrayContaining(['wind_speed', 'air_temperature', 'rainfall']),
    );
    const relay = loadProfileFile(shippedProfilePath('siren-relay'));
    expect(relay.kind).toBe('relay');
    expect(relay.points.find((p) => p.name === 'siren')).toMatchObject({
      table: 'coil',
      type: 'bit',
      writable: true,
    });
  });

  it.each([
    ['bad-bit-in-register.yaml', 'alarm', /type bit cannot live in table holding/],
    ['bad-overlap.yaml', 'rainfall', /overlaps point air_pressure at holding address 5/],
    ['bad-order.yaml', 'pm2_5', /order: .*ABCD/],
  ])('refuses %s naming the file, the point and the reason', (file, point, reason) => {
    const err = refusal(() => loadProfileFile(path.join(fixtures, file)));
    expect(err.file).toContain(file);
    expect(err.point).toBe(point);
    expect(err.reason).toMatch(reason);
    expect(err.message).toContain(file);
    expect(err.message).toContain(`point ${point}`);
  });

  const base = 'name: p\nkind: k\npoints:\n';
  it.each([
    [
      'a writable input register',
      `${base}  - { name: x, table: input, address: 0, type: u16, writable: true }`,
      'x',
      /read-only/,
    ],
    ['an unknown type', `${base}  - { name: x, table: holding, address: 0, type: u64 }`, 'x', /type/],
    [
      'a wrong field type',
      `${base}  - { name: x, table: holding, address: "zero", type: u16 }`,
      'x',
      /address/,
    ],
    [
      'an unknown field',
      `${base}  - { name: x, table: holding, address: 0, type: u16, colour: red }`,
      'x',
      /colour/,
    ],
    [
      'an address past 65535',
      `${base}  - { name: x, table: holding, address: 65535, type: u32 }`,
      'x',
      /passes 65535/,
    ],
    [
      'a duplicate name',
      `${base}  - { name: x, table: holding, address: 0, type: u16 }\n  - { name: x, table: holding, address: 1, type: u16 }`,
      'x',
      /duplicate/,
    ],
    [
      'a zero scale',
      `${base}  - { name: x, table: holding, address: 0, type: u16, scale: 0 }`,
      'x',
      /must not be 0/,
    ],
    ['a point without a name', `${base}  - { table: holding, address: 0, type: u16 }`, '#0', /name/],
  ])('refuses %s', (_, text, point, reason) => {
    const err = refusal(() => parseProfile(text, 'inline.yaml'));
    expect(err.file).toBe('inline.yaml');
    expect(err.point).toBe(point);
    expect(err.reason).toMatch(reason);
  });

  it.each([
    ['truncated YAML', 'name: p\nkind: k\npoints:\n  - { name: x, table: hold'],
    ['random bytes', '\u0000\u00ff{[}]::\u0007'],
    ['a list instead of a map', '- 1\n- 2'],
    ['no points', 'name: p\nkind: k\npoints: []'],
    ['an oversized file', `name: p\nkind: k\n# ${'x'.repeat(300_000)}\npoints: []`],
  ])('refuses %s without crashing', (_, text) => {
    const err = refusal(() => parseProfile(text, 'junk.yaml'));
    expect(err.point).toBeUndefined();
    expect(err.message).toMatch(/^junk\.yaml: /);
  });

  it('refuses a missing file and an unsafe profile name', () => {
    expect(refusal(() => loadProfileFile(path.join(fixtures, 'nope.yaml'))).reason).toMatch(/cannot read/);
    expect(refusal(() => shippedProfilePath('../../etc/passwd')).reason).toMatch(/only letters/);
  });

  it('a bad profile fails driver creation, before anything polls', () => {
    const config = modbusConfigSchema.parse({
      transport: { type: 'tcp', host: '127.0.0.1' },
      devices: [{ id: 'w-1', unitId: 1, profilePath: 'bad-overlap.yaml' }],
    });
    const err = refusal(() => createModbusDriver(config, { id: 'm', configDir: fixtures }));
    expect(err.point).toBe('rainfall');
  });
});

describe('driver config', () => {
  it('fills defaults and accepts both transports', () => {
    const rtu = modbusConfigSchema.parse({
      transport: { type: 'rtu', path: '/dev/ttyUSB0' },
      devices: [{ id: 'pm-1', unitId: 1, profile: 'pm25-sensor' }],
    });
    expect(rtu).toMatchObject({
      timeoutMs: 1000,
      retries: 2,
      transport: { baudRate: 9600, parity: 'none', gapMs: 5 },
    });
    expect(rtu.devices[0]!.intervalMs).toBe(10_000);
  });

  it.each([
    [
      'an unknown key',
      { transport: { type: 'tcp', host: 'h' }, devices: [{ id: 'a', unitId: 1, profile: 'p' }], colour: 1 },
    ],
    [
      'both profile and profilePath',
      {
        transport: { type: 'tcp', host: 'h' },
        devices: [{ id: 'a', unitId: 1, profile: 'p', profilePath: 'q' }],
      },
    ],
    [
      'a serial unit id 0',
      { transport: { type: 'rtu', path: '/dev/x' }, devices: [{ id: 'a', unitId: 0, profile: 'p' }] },
    ],
    [
      'a duplicate unit id',
      {
        transport: { type: 'tcp', host: 'h' },
        devices: [
          { id: 'a', unitId: 1, profile: 'p' },
          { id: 'b', unitId: 1, profile: 'p' },
        ],
      },
    ],
    [
      'an unknown transport',
      { transport: { type: 'ascii', path: '/dev/x' }, devices: [{ id: 'a', unitId: 1, profile: 'p' }] },
    ],
  ])('refuses %s', (_, raw) => {
    expect(modbusConfigSchema.safeParse(raw).success).toBe(false);
  });
});
