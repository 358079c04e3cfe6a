import { z } from 'zod/mini';
import { alertTextSchema } from './alerts.js';
import { severitySchema } from './values.js';

export const INCIDENT_OUTCOMES = ['false_alarm', 'handled_on_site', 'sent_to_hospital', 'other'] as const;
export type IncidentOutcome = (typeof INCIDENT_OUTCOMES)[number];

/** One escalation: the level notified, when (`at`) and the deadline it answered (`dueAt`). */
export const escalationSchema = z.object({ level: z.string(), at: z.number(), dueAt: z.number() });
export type Escalation = z.infer<typeof escalationSchema>;

export const auditEntrySchema = z.object({
  at: z.number(),
  /** Officer id, or 'system' for the engine's own transitions. */
  actor: z.string(),
  action: z.enum([
    'opened',
    'joined',
    'rearmed',
    'escalated',
    'acknowledged',
    'arrived',
    'arrival_overdue',
    'resolved',
  ]),
  detail: z.optional(z.string()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** An alert or life-safety repeat that asked for a response, and its response time. */
export const incidentResponseSchema = z.object({
  alert: z.string(),
  at: z.number(),
  respondedAt: z.nullable(z.number()),
  responseMs: z.nullable(z.number()),
});

/**
 * An incident (`GET /incidents`, the ack/arrive/resolve answers, stream `incident`): the stored
 * document as is. The optional fields are absent from incidents stored before they existed
 * (issue 15: text, subject, kind, situation, priority, responses, the arrival step, outcome).
 */
export const incidentSchema = z.object({
  id: z.string(),
  state: z.enum(['open', 'acknowledged', 'resolved']),
  severity: severitySchema,
  village: z.string(),
  station: z.nullable(z.string()),
  person: z.nullable(z.string()),
  subject: z.optional(z.string()),
  /** Rule of the opening alert, e.g. 'elder.fall'. */
  kind: z.optional(z.string()),
  /** Id of the first incident of the linked situation (its own id when alone). */
  situation: z.optional(z.string()),
  /** 1 at opening, +1 for each life-safety re-arm. */
  priority: z.optional(z.number()),
  title: z.string(),
  text: z.optional(z.nullable(alertTextSchema)),
  /** When the cloud received the alert that opened it (the response time counts from here). */
  openedAt: z.number(),
  receivedAt: z.number(),
  /** Data time of the opening alert. */
  eventAt: z.number(),
  /** Next escalation or top-level repeat; null once acknowledged or resolved. */
  deadline: z.nullable(z.number()),
  /** Level notified last: 'village', 'town', 'county' (the names of the configured ladder). */
  level: z.string(),
  escalations: z.array(escalationSchema),
  late: z.boolean(),
  delayMs: z.number(),
  acknowledgedAt: z.nullable(z.number()),
  acknowledgedBy: z.nullable(z.string()),
  firstResponseMs: z.nullable(z.number()),
  responses: z.optional(z.array(incidentResponseSchema)),
  arrivedAt: z.optional(z.nullable(z.number())),
  arrivedBy: z.optional(z.nullable(z.string())),
  arrivalMs: z.optional(z.nullable(z.number())),
  resolvedAt: z.nullable(z.number()),
  resolvedBy: z.nullable(z.string()),
  outcome: z.optional(z.nullable(z.enum(INCIDENT_OUTCOMES))),
  note: z.nullable(z.string()),
  /** Row ids of the alerts that opened or joined it, first one first. */
  alerts: z.array(z.number()),
  /** The rules library's alert keys, same order. */
  alertKeys: z.array(z.string()),
  people: z.array(z.string()),
  devices: z.array(z.string()),
  audit: z.array(auditEntrySchema),
});
export type Incident = z.infer<typeof incidentSchema>;

export const incidentsResponseSchema = z.object({ incidents: z.array(incidentSchema) });
export type IncidentsResponse = z.infer<typeof incidentsResponseSchema>;

/** `GET /incidents/:id` and the answer of ack, arrive and resolve. */
export const incidentResponseBodySchema = z.object({ incident: incidentSchema });
export type IncidentResponseBody = z.infer<typeof incidentResponseBodySchema>;

/** Response figures of one village over a period (`GET /sla` `villages`). */
export const villageSlaSchema = z.object({
  village: z.string(),
  incidents: z.number(),
  acknowledged: z.number(),
  withinTarget: z.number(),
  withinTargetShare: z.nullable(z.number()),
  medianResponseMs: z.nullable(z.number()),
  p90ResponseMs: z.nullable(z.number()),
  /** Incidents opened from late (historical) data. */
  late: z.number(),
});
export type VillageSla = z.infer<typeof villageSlaSchema>;

/** Per village, town and county over every response, joined alerts and re-arms included (`byPlace`). */
export const placeSlaSchema = z.object({
  level: z.enum(['village', 'town', 'county']),
  place: z.string(),
  incidents: z.number(),
  responses: z.number(),
  judged: z.number(),
  acknowledgedWithinTarget: z.number(),
  shareWithinTarget: z.nullable(z.number()),
  medianResponseMs: z.nullable(z.number()),
  p90ResponseMs: z.nullable(z.number()),
  late: z.number(),
});
export type PlaceSla = z.infer<typeof placeSlaSchema>;

export const slaResponseSchema = z.object({
  villages: z.array(villageSlaSchema),
  byPlace: z.array(placeSlaSchema),
});
export type SlaResponse = z.infer<typeof slaResponseSchema>;

/** One delivery of one notification on one channel (`GET /incidents/:id/notifications`). */
export const deliverySchema = z.object({
  id: z.number(),
  key: z.string(),
  channel: z.string(),
  incidentId: z.string(),
  village: z.string(),
  level: z.string(),
  place: z.string(),
  reason: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  nextAt: z.nullable(z.number()),
  lastError: z.nullable(z.string()),
  createdAt: z.number(),
  deliveredAt: z.nullable(z.number()),
  /** When each attempt was made, ms epoch. */
  attemptsAt: z.array(z.number()),
});
export type Delivery = z.infer<typeof deliverySchema>;

export const notificationsResponseSchema = z.object({ notifications: z.array(deliverySchema) });
export type NotificationsResponse = z.infer<typeof notificationsResponseSchema>;
