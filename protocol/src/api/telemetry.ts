import { z } from 'zod/mini';
import type { EventData } from '../types.js';
import { qualitySchema, severitySchema, valueSchema } from './values.js';

/** A device of the registry, pre-registered or learned from births and batches (`GET /devices`). */
export const deviceSchema = z.object({
  id: z.string(),
  kind: z.string(),
  driver: z.string(),
  edge: z.nullable(z.string()),
  station: z.nullable(z.string()),
  village: z.nullable(z.string()),
  town: z.nullable(z.string()),
  county: z.nullable(z.string()),
  metrics: z.array(z.object({ name: z.string(), unit: z.string() })),
  lastSeen: z.nullable(z.number()),
});
export type Device = z.infer<typeof deviceSchema>;

export const devicesResponseSchema = z.object({ devices: z.array(deviceSchema) });
export type DevicesResponse = z.infer<typeof devicesResponseSchema>;

/** The latest value of one series (`GET /latest`). */
export const latestSchema = z.object({
  device: z.string(),
  metric: z.string(),
  unit: z.string(),
  ts: z.number(),
  value: valueSchema,
  quality: qualitySchema,
  station: z.nullable(z.string()),
});
export type Latest = z.infer<typeof latestSchema>;

export const latestResponseSchema = z.object({ latest: z.array(latestSchema) });
export type LatestResponse = z.infer<typeof latestResponseSchema>;

/** One aggregation bucket starting at `t` (ms epoch); min/max/mean are null for string series. */
export const bucketSchema = z.object({
  t: z.number(),
  min: z.nullable(z.number()),
  max: z.nullable(z.number()),
  mean: z.nullable(z.number()),
  count: z.number(),
});
export type Bucket = z.infer<typeof bucketSchema>;

/** `GET /series`: the query as understood (`step` in ms) and its buckets. */
export const seriesResponseSchema = z.object({
  device: z.string(),
  metric: z.string(),
  from: z.number(),
  to: z.number(),
  step: z.number(),
  buckets: z.array(bucketSchema),
});
export type SeriesResponse = z.infer<typeof seriesResponseSchema>;

/** An event's small flat data map (types.ts EventData). */
export const eventDataSchema = z.record(
  z.string(),
  z.nullable(valueSchema),
) satisfies z.ZodMiniType<EventData>;

/** A stored device event (`GET /events`). */
export const storedEventSchema = z.object({
  edge: z.string(),
  device: z.string(),
  type: z.string(),
  severity: severitySchema,
  ts: z.number(),
  receivedAt: z.number(),
  historical: z.boolean(),
  data: eventDataSchema,
});
export type StoredEvent = z.infer<typeof storedEventSchema>;

export const eventsResponseSchema = z.object({ events: z.array(storedEventSchema) });
export type EventsResponse = z.infer<typeof eventsResponseSchema>;
