import type { DeviceEvent, Reading } from '@village/protocol';
import { z } from 'zod';
import type { Driver, DriverContext, DriverKind } from '../driver.js';

/**
 * Generates readings for configured devices at a configured rate, so the edge → cloud path can
 * be driven before (and beside) the real protocol drivers. Timestamps are wall-clock and strictly
 * increasing per device, so a restarted edge never produces a (device, metric, ts) it produced before.
 */
const fakeConfig = z.strictObject({
  /** How many devices, named `{prefix}{n}`. */
  devices: z.number().int().min(1).max(100_000).default(1),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._:-]+$/)
    .default('fake-'),
  metrics: z
    .array(
      z.strictObject({
        name: z.string(),
        unit: z.string().default(''),
        min: z.number().default(0),
        max: z.number().default(100),
      }),
    )
    .min(1)
    .default([
      { name: 'pm2_5', unit: 'µg/m³', min: 5, max: 150 },
      { name: 'temperature', unit: '°C', min: -5, max: 35 },
    ]),
  /** Period of one tick, ms; each tick emits one reading per device and metric. */
  intervalMs: z.number().int().min(1).default(1000),
  /** Stop after this many readings (per edge run). */
  limit: z.number().int().min(1).optional(),
  /** Emit an `sos` test event every this many ms (for exercising the event lane). */
  eventEveryMs: z.number().int().min(1).optional(),
});

export type FakeConfig = z.infer<typeof fakeConfig>;

export const fakeDriverKind: DriverKind<typeof fakeConfig> = {
  kind: 'fake',
  configSchema: fakeConfig,
  create: (config) => createFakeDriver(config),
};

export function createFakeDriver(config: FakeConfig): Driver {
  const ids = Array.from({ length: config.devices }, (_, i) => `${config.prefix}${i + 1}`);
  const lastTs = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let eventTimer: NodeJS.Timeout | undefined;
  let emitted = 0;
  let tick = 0;
  let busy = false;

  return {
    inventory: () =>
      ids.map((id) => ({
        id,
        kind: 'fake',
        driver: 'fake',
        metrics: config.metrics.map((m) => ({ name: m.name, unit: m.unit })),
      })),

    async start(ctx: DriverContext) {
      const emitTick = async () => {
        if (busy) return; // the outbox is behind; skip rather than pile up promises
        busy = true;
        try {
          tick++;
          const now = ctx.now();
          const readings: Reading[] = [];
          for (const device of ids) {
            const ts = Math.max(now, (lastTs.get(device) ?? 0) + 1);
            lastTs.set(device, ts);
            for (const m of config.metrics) {
              if (config.limit !== undefined && emitted >= config.limit) break;
              const phase = (tick + device.length) % 100;
              const value = Math.round((m.min + ((m.max - m.min) * phase) / 100) * 10) / 10;
              readings.push({ device, metric: m.name, value, unit: m.unit, ts, quality: 'good' });
              emitted++;
            }
          }
          if (readings.length > 0) await ctx.emitReadings(readings);
          if (config.limit !== undefined && emitted >= config.limit) {
            clearInterval(timer);
            ctx.log.info({ emitted }, 'fake driver reached its limit');
          }
        } catch (err) {
          ctx.fail(err as Error);
        } finally {
          busy = false;
        }
      };
      timer = setInterval(emitTick, config.intervalMs);
      if (config.eventEveryMs !== undefined) {
        eventTimer = setInterval(() => {
          const event: DeviceEvent = {
            device: ids[0]!,
            type: 'sos',
            severity: 'critical',
            ts: ctx.now(),
            data: { test: true },
          };
          ctx.emitEvent(event).catch((err) => ctx.fail(err as Error));
        }, config.eventEveryMs);
      }
    },

    async stop() {
      clearInterval(timer);
      clearInterval(eventTimer);
    },
  };
}
