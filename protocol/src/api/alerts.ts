import { z } from 'zod/mini';

/**
 * What an alert says, as structured fields (rules/alert-text.ts renders them in the reader's
 * language). Protocol imports nothing of ours, so the fields are spelled here; the cloud's routes
 * (`satisfies`) and the dashboards (which hand it to the rules' renderer) both fail to compile
 * when the rules' AlertText and this one part.
 */
export const ALERT_KINDS = [
  'fall',
  'sos',
  'heart_rate',
  'spo2',
  'no_movement',
  'no_movement_critical',
  'not_worn',
  'battery_low',
  'device_silent',
  'silent_alone',
  'edge_offline',
  'threshold',
  'device_event',
] as const;

export const alertTextSchema = z.object({
  kind: z.enum(ALERT_KINDS),
  person: z.optional(z.string()),
  device: z.optional(z.string()),
  station: z.optional(z.string()),
  metric: z.optional(z.string()),
  value: z.optional(z.number()),
  unit: z.optional(z.string()),
  averaging: z.optional(z.string()),
  threshold: z.optional(z.number()),
  direction: z.optional(z.enum(['above', 'below'])),
  range: z.optional(z.tuple([z.number(), z.number()])),
  durationMs: z.optional(z.number()),
  event: z.optional(z.string()),
});
export type AlertText = z.infer<typeof alertTextSchema>;

/** One alert (`GET /alerts`, stream `alert`): raised, repeated (`count`) and cleared. */
export const alertSchema = z.object({
  id: z.number(),
  key: z.string(),
  rule: z.string(),
  severity: z.string(),
  state: z.enum(['active', 'cleared']),
  village: z.string(),
  station: z.nullable(z.string()),
  device: z.nullable(z.string()),
  person: z.nullable(z.string()),
  message: z.string(),
  /** The text as fields; null for alerts stored before texts were fields (issue 15). */
  text: z.nullable(alertTextSchema),
  count: z.number(),
  raisedAt: z.number(),
  lastAt: z.number(),
  clearedAt: z.nullable(z.number()),
  /** What the rule saw: since when, the value, a position (fall), the text. */
  data: z.object({
    since: z.number(),
    value: z.optional(z.unknown()),
    position: z.optional(z.object({ lat: z.number(), lon: z.number() })),
    text: z.optional(alertTextSchema),
  }),
});
export type Alert = z.infer<typeof alertSchema>;

export const alertsResponseSchema = z.object({ alerts: z.array(alertSchema) });
export type AlertsResponse = z.infer<typeof alertsResponseSchema>;
