import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';

/** Schema of one `drivers:` entry of kind `modbus` in edge.yaml (the edge owns `kind` and `id`). */
const rtuTransport = z.strictObject({
  type: z.literal('rtu'),
  /** Serial device, e.g. /dev/ttyUSB0. */
  path: z.string().min(1),
  /** Bits per second. */
  baudRate: z.number().int().min(300).max(921_600).default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Silence after each exchange before the next frame, ms. */
  gapMs: z.number().int().min(0).max(1000).default(5),
});

const tcpTransport = z.strictObject({
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(502),
  /** Pause after each exchange before the next request, ms (some gateways need one). */
  gapMs: z.number().int().min(0).max(1000).default(0),
});

const deviceConfig = z
  .strictObject({
    /** Device id in readings and commands. */
    id: z.string().regex(ID_PATTERN),
    /** Modbus unit (slave) id; 1..247 on a serial line (spec §2.2), 0..255 over TCP. */
    unitId: z.number().int().min(0).max(255),
    /** Name of a shipped profile (device-drivers/profiles/{name}.yaml) ... */
    profile: z.string().optional(),
    /** ... or a profile file, relative to the edge config's folder. */
    profilePath: z.string().optional(),
    /** Poll period, ms. */
    intervalMs: z.number().int().min(10).max(86_400_000).default(10_000),
  })
  .refine((d) => (d.profile === undefined) !== (d.profilePath === undefined), {
    message: 'give exactly one of profile or profilePath',
  });

export const modbusConfigSchema = z
  .strictObject({
    transport: z.discriminatedUnion('type', [rtuTransport, tcpTransport]),
    /** Wait for one answer, ms. */
    timeoutMs: z.number().int().min(10).max(60_000).default(1000),
    /** Extra attempts after a failed request (timeout, bad CRC, bad frame); exceptions are not retried. */
    retries: z.number().int().min(0).max(10).default(2),
    /** First wait before a retry, ms; doubles per attempt up to maxBackoffMs. */
    backoffMs: z.number().int().min(0).max(60_000).default(100),
    maxBackoffMs: z.number().int().min(0).max(600_000).default(5000),
    devices: z.array(deviceConfig).min(1).max(247),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    const units = new Set<number>();
    c.devices.forEach((d, i) => {
      if (ids.has(d.id))
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate id ${d.id}` });
      ids.add(d.id);
      if (units.has(d.unitId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'unitId'],
          message: `unit ${d.unitId} used twice`,
        });
      }
      units.add(d.unitId);
      if (c.transport.type === 'rtu' && (d.unitId < 1 || d.unitId > 247)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'unitId'],
          message: 'serial unit ids are 1..247',
        });
      }
    });
  });

export type ModbusConfig = z.infer<typeof modbusConfigSchema>;
export type ModbusTransportConfig = ModbusConfig['transport'];
export type ModbusDeviceConfig = ModbusConfig['devices'][number];
