import { setMaxListeners } from 'node:events';
import type { Command, CommandResult } from '@village/protocol';
import type { Driver, DriverConfigIssue, DriverContext, DriverKind } from '../driver.js';
import { type PolledDevice, runDevicePoller } from './device-poller.js';
import { type ModbusConfig, modbusConfigSchema } from './modbus-config.js';
import { ModbusCommandError, ProfileError, classifyFailure } from './modbus-errors.js';
import { type ModbusLink, createModbusLink } from './modbus-link.js';
import { planReads } from './poll-plan.js';
import { loadDeviceProfile } from './profile-load.js';
import { encodeRaw, toRaw } from './register-codec.js';

export const modbusDriverKind: DriverKind<typeof modbusConfigSchema> = {
  kind: 'modbus',
  configSchema: modbusConfigSchema,
  create: (config, options) => createModbusDriver(config, options),
  check(config, { configDir }) {
    const issues: DriverConfigIssue[] = [];
    config.devices.forEach((d, i) => {
      try {
        loadDeviceProfile(d, configDir);
      } catch (err) {
        if (!(err instanceof ProfileError)) throw err;
        issues.push({
          path: ['devices', i, d.profilePath === undefined ? 'profile' : 'profilePath'],
          message: err.message,
        });
      }
    });
    return issues;
  },
};

/**
 * Modbus RTU/TCP master: polls every configured device on one port and writes writable points
 * on command. Profiles are loaded here, synchronously, so a bad profile fails the edge's
 * start-up check with a ProfileError rather than a running driver.
 */
export function createModbusDriver(config: ModbusConfig, options: { id: string; configDir: string }): Driver {
  const devices = new Map<string, PolledDevice>();
  for (const d of config.devices) {
    const profile = loadDeviceProfile(d, options.configDir);
    const plan = planReads(profile.points, {
      maxGap: profile.maxGap,
      maxRegisters: profile.maxRegistersPerRequest,
      maxBits: profile.maxBitsPerRequest,
      coalesce: profile.coalesce,
    });
    devices.set(d.id, { id: d.id, unitId: d.unitId, intervalMs: d.intervalMs, profile, plan });
  }
  let link: ModbusLink | undefined;
  let ctx: DriverContext | undefined;
  let abort: AbortController | undefined;
  let loops: Promise<void>[] = [];

  return {
    inventory: () =>
      [...devices.values()].map((d) => ({
        id: d.id,
        kind: d.profile.kind,
        driver: 'modbus',
        metrics: d.profile.points.map((p) => ({ name: p.metric ?? p.name, unit: p.unit })),
      })),

    async start(context) {
      ctx = context;
      abort = new AbortController();
      const signal = AbortSignal.any([abort.signal, context.signal]);
      // Every poller waits on this one signal (one listener each while it sleeps): not a leak.
      setMaxListeners(devices.size + 10, signal);
      link = createModbusLink(config.transport, config.timeoutMs);
      const policy = {
        retries: config.retries,
        backoffMs: config.backoffMs,
        maxBackoffMs: config.maxBackoffMs,
      };
      loops = [...devices.values()].map((d) => runDevicePoller(d, link!, context, policy, signal));
      context.log.info({ transport: config.transport.type, devices: devices.size }, 'modbus driver polling');
    },

    async stop() {
      abort?.abort();
      await link?.close();
      await Promise.allSettled(loops);
      loops = [];
    },

    async command(cmd: Command): Promise<CommandResult['data']> {
      const device = devices.get(cmd.device);
      if (!device)
        throw new ModbusCommandError(
          'unknown_device',
          `no Modbus device ${cmd.device} in driver ${options.id}`,
        );
      if (cmd.action !== 'write') {
        throw new ModbusCommandError(
          'bad_action',
          `action ${JSON.stringify(cmd.action)} is not supported (only write)`,
        );
      }
      if (!link || !ctx) throw new ModbusCommandError('device_error', 'the driver is not running');
      if (cmd.expiresAt !== undefined && cmd.expiresAt < ctx.now()) {
        throw new ModbusCommandError('bad_action', `command ${cmd.id} expired at ${cmd.expiresAt}`);
      }
      const name = cmd.params.point;
      const point = device.profile.points.find((p) => p.name === name);
      if (!point)
        throw new ModbusCommandError('unknown_point', `device ${device.id} has no point ${String(name)}`);
      if (!point.writable)
        throw new ModbusCommandError('not_writable', `point ${point.name} of ${device.id} is read-only`);
      const value = cmd.params.value;
      try {
        if (point.type === 'bit') {
          if (typeof value !== 'boolean' && value !== 0 && value !== 1) {
            throw new ModbusCommandError(
              'bad_value',
              `point ${point.name} takes true/false, got ${JSON.stringify(value)}`,
            );
          }
          await link.session(device.unitId, (io) => io.writeCoil(point.address, Boolean(value)));
        } else {
          if (typeof value !== 'number' || !Number.isFinite(value)) {
            throw new ModbusCommandError(
              'bad_value',
              `point ${point.name} takes a number, got ${JSON.stringify(value)}`,
            );
          }
          let words: number[];
          try {
            words = encodeRaw(toRaw(value, point.type, point.scale, point.offset), point.type, point.order);
          } catch (err) {
            throw new ModbusCommandError('bad_value', `point ${point.name}: ${(err as Error).message}`);
          }
          await link.session(device.unitId, (io) => io.writeRegisters(point.address, words));
        }
      } catch (err) {
        if (err instanceof ModbusCommandError) {
          ctx.countError(`modbus_cmd_${err.code}`);
          throw err;
        }
        const failure = classifyFailure(err);
        ctx.countError(`modbus_cmd_${failure.kind}`);
        ctx.log.warn(
          { device: device.id, point: point.name, reason: failure.kind, error: failure.message },
          'modbus write failed',
        );
        throw new ModbusCommandError(
          'device_error',
          `writing ${point.name} of ${device.id}: ${failure.kind}: ${failure.message}`,
        );
      }
      ctx.log.info({ device: device.id, point: point.name, value }, 'modbus write done');
      return {
        device: device.id,
        point: point.name,
        value: typeof value === 'number' ? value : Boolean(value),
        unitId: device.unitId,
      };
    },
  };
}
