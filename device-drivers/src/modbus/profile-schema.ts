import { ID_PATTERN } from '@village/protocol';
import { z } from 'zod';
import { BYTE_ORDERS, DATA_TYPES, wordCount } from './register-codec.js';

/**
 * A device profile: what a model of Modbus device holds where. Data, not code, so a vendor adds
 * a device by adding a YAML file (docs/vendor-guide-modbus.md).
 */
export const TABLES = ['coil', 'discrete-input', 'holding', 'input'] as const;
export type Table = (typeof TABLES)[number];

/** Tables holding single bits (FC 01/02) rather than 16-bit registers (FC 03/04). */
export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'discrete-input';
}

export const pointSchema = z.strictObject({
  /** Point id inside the profile; commands name it (`{ point: 'siren' }`). */
  name: z.string().regex(ID_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}'),
  /** Metric name in readings; defaults to the point name. */
  metric: z.string().regex(ID_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}').optional(),
  table: z.enum(TABLES),
  /** Zero-based protocol address (the PDU address, not the 4xxxx "register number"). */
  address: z.number().int().min(0).max(0xffff),
  type: z.enum(DATA_TYPES),
  /** Word and byte order of multi-byte values (see register-codec.ts); default ABCD. */
  order: z.enum(BYTE_ORDERS).default('ABCD'),
  /** physical = raw × scale + offset. */
  scale: z
    .number()
    .finite()
    .refine((x) => x !== 0, 'must not be 0')
    .default(1),
  offset: z.number().finite().default(0),
  unit: z.string().max(32).default(''),
  /** Whether commands may write this point (coils and holding registers only). */
  writable: z.boolean().default(false),
});

export type ProfilePoint = z.infer<typeof pointSchema>;

export const profileSchema = z
  .strictObject({
    name: z.string().regex(ID_PATTERN),
    /** Device kind for the edge inventory: air-quality, water-quality, weather, relay, ... */
    kind: z.string().regex(ID_PATTERN),
    description: z.string().optional(),
    /** Largest read this model accepts, registers (spec max 125 for FC 03/04). */
    maxRegistersPerRequest: z.number().int().min(1).max(125).default(125),
    /** Largest read this model accepts, bits (spec max 2000 for FC 01/02). */
    maxBitsPerRequest: z.number().int().min(1).max(2000).default(2000),
    /** Unused registers (or bits) a read may span to merge two points into one request. */
    maxGap: z.number().int().min(0).max(124).default(8),
    /** false for devices that answer only one point per request: every point is read on its own. */
    coalesce: z.boolean().default(true),
    points: z.array(pointSchema).min(1).max(1000),
  })
  .superRefine((profile, ctx) => {
    const names = new Set<string>();
    const metrics = new Set<string>();
    const used = new Map<string, string>();
    profile.points.forEach((p, i) => {
      const issue = (message: string, field?: string) =>
        ctx.addIssue({ code: 'custom', message, path: ['points', i, ...(field ? [field] : [])] });
      if (names.has(p.name)) issue(`duplicate point name ${p.name}`, 'name');
      names.add(p.name);
      const metric = p.metric ?? p.name;
      if (metrics.has(metric)) issue(`duplicate metric ${metric}`, 'metric');
      metrics.add(metric);
      const bitTable = isBitTable(p.table);
      if (bitTable !== (p.type === 'bit')) {
        issue(`type ${p.type} cannot live in table ${p.table} (bit goes with coil/discrete-input)`, 'type');
        return;
      }
      if (p.writable && (p.table === 'input' || p.table === 'discrete-input')) {
        issue(`table ${p.table} is read-only, so the point cannot be writable`, 'writable');
      }
      if (p.type === 'bit' && (p.scale !== 1 || p.offset !== 0))
        issue('a bit cannot have scale or offset', 'scale');
      const words = wordCount(p.type);
      if (p.address + words - 1 > 0xffff)
        issue(`address ${p.address} + ${words} registers passes 65535`, 'address');
      for (let a = p.address; a < p.address + words; a++) {
        const key = `${p.table}:${a}`;
        const other = used.get(key);
        if (other !== undefined) {
          issue(`overlaps point ${other} at ${p.table} address ${a}`, 'address');
          return;
        }
        used.set(key, p.name);
      }
    });
  });

export type Profile = z.infer<typeof profileSchema>;
