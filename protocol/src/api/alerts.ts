import { z } from 'zod';

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
  person: z.string().optional(),
  device: z.string().optional(),
  station: z.string().optional(),
  metric: z.string().optional(),
  value: z.number().optional(),
  unit: z.string().optional(),
  averaging: z.string().optional(),
  threshold: z.number().optional(),
  direction: z.enum(['above', 'below']).optional(),
  range: z.tuple([z.number(), z.number()]).optional(),
  durationMs: z.number().optional(),
  event: z.string().optional(),
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
  station: z.string().nullable(),
  device: z.string().nullable(),
  person: z.string().nullable(),
  message: z.string(),
  /** The text as fields; null for alerts stored before texts were fields (issue 15). */
  text: alertTextSchema.nullable(),
  count: z.number(),
  raisedAt: z.number(),
  lastAt: z.number(),
  clearedAt: z.number().nullable(),
  /** What the rule saw: since when, the value, a position (fall), the text. */
  data: z.object({
    since: z.number(),
    value: z.unknown().optional(),
    position: z.object({ lat: z.number(), lon: z.number() }).optional(),
    text: alertTextSchema.optional(),
  }),
});
export type Alert = z.infer<typeof alertSchema>;

export const alertsResponseSchema = z.object({ alerts: z.array(alertSchema) });
export type AlertsResponse = z.infer<typeof alertsResponseSchema>;
