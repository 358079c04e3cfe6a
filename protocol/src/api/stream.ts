import { z } from 'zod/mini';
import { alertSchema } from './alerts.js';
import { incidentSchema } from './incidents.js';
import { eventDataSchema, latestSchema } from './telemetry.js';
import { severitySchema } from './values.js';

/** A committed reading on the live stream: the latest value plus its village and late flag. */
export const liveReadingSchema = z.extend(latestSchema, {
  village: z.nullable(z.string()),
  /** Backlog sent after an outage: shown as late, never moves a device's last contact. */
  historical: z.boolean(),
});
export type LiveReading = z.infer<typeof liveReadingSchema>;

/** A committed device event on the live stream. */
export const liveEventSchema = z.object({
  edge: z.string(),
  device: z.string(),
  type: z.string(),
  severity: severitySchema,
  ts: z.number(),
  receivedAt: z.number(),
  historical: z.boolean(),
  data: eventDataSchema,
  station: z.nullable(z.string()),
  village: z.nullable(z.string()),
});
export type LiveEvent = z.infer<typeof liveEventSchema>;

/**
 * One message of `GET /api/v1/stream` (Server-Sent Events): the SSE event name is `type`, its
 * `data:` line is `data` as JSON. Alerts and incidents are sent whole each time they change.
 */
export const streamMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reading'), data: liveReadingSchema }),
  z.object({ type: z.literal('event'), data: liveEventSchema }),
  z.object({ type: z.literal('alert'), data: alertSchema }),
  z.object({ type: z.literal('incident'), data: incidentSchema }),
]);
export type StreamMessage = z.infer<typeof streamMessageSchema>;
export type StreamMessageType = StreamMessage['type'];
/** The data of each message type: `StreamData['reading']` is a LiveReading. */
export type StreamData = { [M in StreamMessage as M['type']]: M['data'] };

export const STREAM_MESSAGE_TYPES = [
  'reading',
  'event',
  'alert',
  'incident',
] as const satisfies readonly StreamMessageType[];
