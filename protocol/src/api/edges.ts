import { z } from 'zod/mini';
import type { EdgeReport } from '../types.js';

/** `GET /health`: the process and each visible edge's online state. */
export const edgeLinkSchema = z.object({
  id: z.string(),
  online: z.boolean(),
  boot: z.nullable(z.number()),
  lastSeen: z.nullable(z.number()),
});
export type EdgeLink = z.infer<typeof edgeLinkSchema>;

/** External-broker mode: one MQTT broker the ingest consumes (`broker` is its URL without credentials). */
export const brokerLinkSchema = z.object({
  broker: z.string(),
  up: z.boolean(),
});
export type BrokerLink = z.infer<typeof brokerLinkSchema>;

export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  uptimeS: z.number(),
  edges: z.array(edgeLinkSchema),
  /** External-broker mode only: each broker of `mqtt.url` and whether this worker is connected to it. */
  brokers: z.optional(z.array(brokerLinkSchema)),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

/** The edge's state report (types.ts EdgeReport) as the cloud stored it. */
export const edgeReportSchema = z.object({
  outbox: z.object({
    pendingReadings: z.number(),
    pendingEvents: z.number(),
    oldestUnsentAgeS: z.nullable(z.number()),
    bytesUsed: z.number(),
    droppedReadings: z.number(),
    diskFull: z.boolean(),
  }),
  drivers: z.array(
    z.object({ id: z.string(), kind: z.string(), running: z.boolean(), restarts: z.number() }),
  ),
  diskFreeBytes: z.nullable(z.number()),
  diskTotalBytes: z.nullable(z.number()),
  clockOffsetS: z.optional(z.number()),
}) satisfies z.ZodMiniType<EdgeReport>;

export const edgeStateSchema = z.object({
  edge: z.string(),
  receivedAt: z.number(),
  ts: z.number(),
  boot: z.number(),
  version: z.string(),
  report: edgeReportSchema,
});
export type EdgeState = z.infer<typeof edgeStateSchema>;

/** A backlog older than the threshold or a nearly full disk, from raised to cleared. */
export const edgeAlertSchema = z.object({
  edge: z.string(),
  kind: z.enum(['backlog', 'disk']),
  raisedAt: z.number(),
  clearedAt: z.nullable(z.number()),
  /** The value that raised it: backlog age, s, or free disk ratio. */
  value: z.number(),
});
export type EdgeAlert = z.infer<typeof edgeAlertSchema>;

/** `GET /edges`: what /health says plus the last state report (null before the first) and alerts. */
export const edgeHealthSchema = z.extend(edgeLinkSchema, {
  village: z.nullable(z.string()),
  state: z.nullable(edgeStateSchema),
  alerts: z.array(edgeAlertSchema),
});
export type EdgeHealth = z.infer<typeof edgeHealthSchema>;

export const edgesResponseSchema = z.object({ edges: z.array(edgeHealthSchema) });
export type EdgesResponse = z.infer<typeof edgesResponseSchema>;
