import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Driver } from '@village/device-drivers';
import {
  ModbusCommandError,
  type ModbusConfig,
  loadProfileFile,
  modbusConfigSchema,
  modbusDriverKind,
  shippedProfilePath,
} from '@village/device-drivers/modbus';
import { waitFor } from '@village/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  type PtyPair,
  type RtuBusSimulator,
  type SlaveFault,
  openPtyPair,
  startRtuBusSimulator,
} from '../src/modbus/index.js';
import { type RecordingContext, latest, recordingContext } from './modbus-helpers.js';

/**
 * Modbus RTU over a real pseudo-terminal pair made by socat: the driver (modbus-serial master)
 * on one end, our RTU bus simulator answering for three unit ids on the other.
 */

/** Wire words for known values, written out by hand from their IEEE-754 / two's-complement bytes. */
const VECTORS = {
  u16: { value: 4660, ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] },
  i16: { value: -12345, ABCD: [0xcfc7], CDAB: [0xcfc7], BADC: [0xc7cf], DCBA: [0xc7cf] },
  u32: {
    value: 305419896,
    ABCD: [0x1234, 0x5678],
    CDAB: [0x5678, 0x1234],
    BADC: [0x3412, 0x7856],
    DCBA: [0x7856, 0x3412],
  },
  i32: {
    value: -123456789,
    ABCD: [0xf8a4, 0x32eb],
    CDAB: [0x32eb, 0xf8a4],
    BADC: [0xa4f8, 0xeb32],
    DCBA: [0xeb32, 0xa4f8],
  },
  // -1234.5678 as float32 is c49a522b
  f32: {
    value: -1234.5678,
    ABCD: [0xc49a, 0x522b],
    CDAB: [0x522b, 0xc49a],
    BADC: [0x9ac4, 0x2b52],
    DCBA: [0x2b52, 0x9ac4],
  },
  // 1234.5678901234 as float64 is 40934a4584fd0ee6
  f64: {
    value: 1234.5678901234,
    ABCD: [0x4093, 0x4a45, 0x84fd, 0x0ee6],
    CDAB: [0x0ee6, 0x84fd, 0x4a45, 0x4093],
    BADC: [0x9340, 0x454a, 0xfd84, 0xe60e],
    DCBA: [0xe60e, 0xfd84, 0x454a, 0x9340],
  },
} as const;
const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;

function allTypesProfile(): {
  yaml: string;
  placed: { name: string; address: number; words: number[]; value: number }[];
} {
  const points: Record<string, unknown>[] = [];
  const placed: { name: string; address: number; words: number[]; value: number }[] = [];
  let address = 0;
  for (const [type, v] of Object.entries(VECTORS)) {
    for (const order of ORDERS) {
      const words = [...v[order]];
      const name = `${type}_${order}`;
      points.push({ name, table: 'holding', address, type, order });
      placed.push({ name, address, words, value: v.value });
      address += words.length;
    }
  }
  // Scale and offset: raw 653 → 653 × 0.1 − 40 = 25.3
  points.push({
    name: 'scaled',
    table: 'holding',
    address,
    type: 'i16',
    scale: 0.1,
    offset: -40,
    unit: '°C',
  });
  placed.push({ name: 'scaled', address, words: [653], value: 25.3 });
  points.push({ name: 'alarm', table: 'coil', address: 0, type: 'bit' });
  points.push({ name: 'door', table: 'discrete-input', address: 3, type: 'bit' });
  points.push({ name: 'spare', table: 'discrete-input', address: 0, type: 'bit' });
  return {
    yaml: stringify({ name: 'all-types', kind: 'test', maxRegistersPerRequest: 125, maxGap: 0, points }),
    placed,
  };
}

describe('Modbus RTU over a socat pty pair, three slaves on one bus', () => {
  let ptys: PtyPair;
  let bus: RtuBusSimulator;
  let dir: string;
  let placed: ReturnType<typeof allTypesProfile>['placed'];
  let driver: Driver | undefined;
  let ctx: RecordingContext | undefined;

  beforeAll(async () => {
    ptys = await openPtyPair();
    dir = mkdtempSync(path.join(tmpdir(), 'modbus-rtu-'));
    const all = allTypesProfile();
    placed = all.placed;
    writeFileSync(path.join(dir, 'all-types.yaml'), all.yaml);
    bus = await startRtuBusSimulator({
      path: ptys.b,
      baudRate: 38_400,
      slaves: [
        { unitId: 1, profile: loadProfileFile(path.join(dir, 'all-types.yaml')) },
        { unitId: 2, profile: loadProfileFile(shippedProfilePath('pm25-sensor')) },
        { unitId: 3, profile: loadProfileFile(shippedProfilePath('siren-relay')) },
      ],
    });
  }, 30_000);

  afterEach(async () => {
    await driver?.stop();
    ctx?.abort();
    driver = undefined;
    for (const s of bus.slaves.values()) s.fault = { type: 'none' };
  });

  afterAll(async () => {
    await bus?.stop();
    await ptys?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function startDriver(overrides: Partial<ModbusConfig> = {}, intervalMs = 300): Promise<void> {
    const config = modbusConfigSchema.parse({
      transport: { type: 'rtu', path: ptys.a, baudRate: 38_400, gapMs: 2 },
      timeoutMs: 400,
      retries: 1,
      backoffMs: 50,
      devices: [
        { id: 'probe-1', unitId: 1, profilePath: 'all-types.yaml', intervalMs },
        { id: 'pm-1', unitId: 2, profile: 'pm25-sensor', intervalMs },
        { id: 'siren-1', unitId: 3, profile: 'siren-relay', intervalMs },
      ],
      ...overrides,
    });
    driver = modbusDriverKind.create(config, { id: 'modbus-rtu', configDir: dir });
    ctx = recordingContext();
    return driver.start(ctx);
  }

  it(
    'decodes every data type in every word order, and polls all three slaves',
    { timeout: 30_000 },
    async () => {
      const probe = bus.slaves.get(1)!.image;
      for (const p of placed) probe.write('holding', p.address, p.words);
      probe.write('coil', 0, [true]);
      probe.set('door', true); // discrete inputs are read-only to a master; the device sets them
      const pm = bus.slaves.get(2)!.image;
      pm.set('pm2_5', 87);
      pm.set('temperature', -4.5);
      pm.set('uptime', 70_000);
      bus.slaves.get(3)!.image.set('mains_power', true);

      await startDriver();
      const c = ctx!;
      await waitFor(
        'a reading from each slave',
        () =>
          latest(c.readings, 'probe-1', 'f64_DCBA') &&
          latest(c.readings, 'pm-1', 'uptime') &&
          latest(c.readings, 'siren-1', 'mains_power'),
      );
      for (const p of placed) {
        const r = latest(c.readings, 'probe-1', p.name)!;
        expect(r.quality, p.name).toBe('good');
        if (p.name.startsWith('f32')) {
          // The driver reports the shortest decimal of the float32, the very float the slave sent.
          expect(Math.fround(r.value as number), p.name).toBe(Math.fround(p.value));
        } else {
          expect(r.value, p.name).toBe(p.value);
        }
      }
      expect(latest(c.readings, 'probe-1', 'scaled')).toMatchObject({ value: 25.3, unit: '°C' });
      expect(latest(c.readings, 'probe-1', 'alarm')!.value).toBe(true);
      expect(latest(c.readings, 'probe-1', 'door')!.value).toBe(true);
      expect(latest(c.readings, 'probe-1', 'spare')!.value).toBe(false);
      expect(latest(c.readings, 'pm-1', 'pm2_5')).toMatchObject({
        value: 87,
        unit: 'µg/m³',
        quality: 'good',
      });
      expect(latest(c.readings, 'pm-1', 'temperature')!.value).toBe(-4.5);
      expect(latest(c.readings, 'pm-1', 'uptime')!.value).toBe(70_000);
      expect(latest(c.readings, 'siren-1', 'mains_power')!.value).toBe(true);
      expect(c.events).toEqual([]);
    },
  );

  /** Largest gap between two consecutive polls of a device, by when their answers arrived, ms. */
  function maxPollGap(c: RecordingContext, device: string, after: number): number {
    const ts = (c.emitTimes.get(device) ?? []).filter((t) => t >= after);
    let max = 0;
    for (let i = 1; i < ts.length; i++) max = Math.max(max, ts[i]! - ts[i - 1]!);
    return max;
  }

  const FAULTS: { name: string; fault: SlaveFault; reason: string }[] = [
    { name: 'a slave that never answers', fault: { type: 'silent' }, reason: 'timeout' },
    // modbus-serial discards a frame from another unit id and keeps waiting (Serial Line §2.4.1), so it ends as a timeout.
    {
      name: 'a reply carrying the wrong slave id',
      fault: { type: 'wrong-unit', unitId: 9 },
      reason: 'timeout',
    },
    { name: 'a reply with a wrong CRC', fault: { type: 'bad-crc' }, reason: 'bad_crc' },
  ];

  it.each(FAULTS)(
    '$name raises one offline event, online when it returns, and the others stay on time',
    { timeout: 40_000 },
    async ({ fault, reason }) => {
      const intervalMs = 300;
      const timeoutMs = 400;
      bus.slaves.get(2)!.fault = fault;
      await startDriver({ timeoutMs }, intervalMs);
      const c = ctx!;
      const start = Date.now();
      await waitFor('offline event', () => c.events.find((e) => e.device === 'pm-1' && e.type === 'offline'));
      // Keep the fault for several more cycles: the offline event must not repeat, the others keep polling.
      await waitFor(
        'healthy polls',
        () =>
          c.readings.filter((r) => r.device === 'probe-1' && r.metric === 'u16_ABCD' && r.ts > start)
            .length >= 8,
      );
      expect(c.events.filter((e) => e.type === 'offline')).toHaveLength(1);
      expect(c.events[0]).toMatchObject({ device: 'pm-1', type: 'offline', data: { unitId: 2, reason } });
      expect(c.errors.get(`modbus_${reason}`)).toBeGreaterThan(0);
      expect(c.readings.filter((r) => r.device === 'pm-1')).toEqual([]);
      // Each healthy device's poll period stays within its interval plus one timeout (plus 100 ms
      // for event-loop jitter on a loaded CI box; retrying back to back inside one session would
      // take it past interval + 2 timeouts).
      for (const device of ['probe-1', 'siren-1']) {
        expect(maxPollGap(c, device, start), device).toBeLessThanOrEqual(intervalMs + timeoutMs + 100);
      }
      bus.slaves.get(2)!.fault = { type: 'none' };
      await waitFor('online event', () => c.events.find((e) => e.device === 'pm-1' && e.type === 'online'));
      await waitFor('pm-1 readings again', () => latest(c.readings, 'pm-1', 'pm2_5'));
      expect(latest(c.readings, 'pm-1', 'pm2_5')!.quality).toBe('good');
      expect(c.failures).toEqual([]);
    },
  );

  it(
    'an exception response marks the affected metrics bad, named, without an offline event',
    { timeout: 30_000 },
    async () => {
      bus.slaves.get(2)!.fault = { type: 'exception', code: 4 };
      await startDriver();
      const c = ctx!;
      const bad = await waitFor('pm-1 reading', () => latest(c.readings, 'pm-1', 'pm10'));
      expect(bad).toMatchObject({ quality: 'bad', value: 'SERVER_DEVICE_FAILURE', unit: 'µg/m³' });
      expect(c.readings.filter((r) => r.device === 'pm-1').every((r) => r.quality === 'bad')).toBe(true);
      expect(c.errors.get('modbus_exception')).toBeGreaterThan(0);
      await waitFor('probe-1 reading', () => latest(c.readings, 'probe-1', 'u16_ABCD'));
      expect(latest(c.readings, 'probe-1', 'u16_ABCD')!.quality).toBe('good');
      expect(c.events).toEqual([]);
    },
  );

  it('a siren command reaches the relay coil and reports the result', { timeout: 30_000 }, async () => {
    const relay = bus.slaves.get(3)!;
    relay.image.set('siren', false);
    await startDriver({}, 5_000);
    const result = await driver!.command!({
      id: 'c-1',
      device: 'siren-1',
      action: 'write',
      params: { point: 'siren', value: true },
    });
    expect(result).toEqual({ device: 'siren-1', point: 'siren', value: true, unitId: 3 });
    expect(relay.image.get('siren')).toBe(true);
    expect(relay.writes.at(-1)).toEqual({ table: 'coil', address: 0, values: [true] });
    await driver!.command!({
      id: 'c-2',
      device: 'siren-1',
      action: 'write',
      params: { point: 'siren_timeout', value: 180 },
    });
    expect(relay.image.get('siren_timeout')).toBe(180);
    await driver!.command!({
      id: 'c-3',
      device: 'siren-1',
      action: 'write',
      params: { point: 'siren', value: false },
    });
    expect(relay.image.get('siren')).toBe(false);
  });

  it('refuses commands it must not carry out, with typed errors', { timeout: 30_000 }, async () => {
    await startDriver({}, 5_000);
    const writesBefore = bus.slaves.get(3)!.writes.length;
    const refused = async (
      params: Record<string, string | number | boolean>,
      device = 'siren-1',
      action = 'write',
    ) => {
      const err = await driver!.command!({ id: 'x', device, action, params }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModbusCommandError);
      return (err as ModbusCommandError).code;
    };
    expect(await refused({ point: 'cabinet_door', value: true })).toBe('not_writable');
    expect(await refused({ point: 'siren', value: true }, 'nobody')).toBe('unknown_device');
    expect(await refused({ point: 'horn', value: true })).toBe('unknown_point');
    expect(await refused({ point: 'siren', value: 'loud' })).toBe('bad_value');
    expect(await refused({ point: 'siren_timeout', value: 70_000 })).toBe('bad_value');
    expect(await refused({ point: 'siren', value: true }, 'siren-1', 'reboot')).toBe('bad_action');
    expect(bus.slaves.get(3)!.writes.length, 'no refused command reached the slave').toBe(writesBefore);
    // A write the slave refuses comes back as a device_error naming the exception.
    bus.slaves.get(3)!.fault = { type: 'exception', code: 2 };
    const err = await driver!.command!({
      id: 'y',
      device: 'siren-1',
      action: 'write',
      params: { point: 'siren', value: true },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusCommandError);
    expect((err as ModbusCommandError).code).toBe('device_error');
    expect((err as Error).message).toContain('ILLEGAL_DATA_ADDRESS');
  });
});
