import { z } from 'zod/mini';

/**
 * Quality control's data flags and reasons (rules/quality-control/data-flag.ts, docs/rules.md).
 * Protocol imports nothing of ours, so they are spelled here; the cloud's route (`satisfies`)
 * fails to compile when the rules' and these part.
 */
export const DATA_FLAGS = ['N', 'M', 'C', 'D', 'T', 'Q', 'I'] as const;
export const QC_REASON_CODES = [
  'maintenance',
  'calibration',
  'device_status',
  'device_marked_bad',
  'above_range',
  'negative',
  'below_range',
  'unit_unknown',
  'spike',
  'flatline',
  'pm25_above_pm10',
  'high_humidity',
  'device_marked_suspect',
] as const;

/** Who may set or remove maintenance and calibration windows: operators on site, as for commands. */
export const QUALITY_WINDOW_ROLES = ['admin', 'village'] as const;
/**
 * Who may invalidate or restore data: a review by admins and the town and county officers above
 * the village whose sensors it is, so nobody signs off the data of the devices they maintain.
 */
export const QUALITY_REVIEW_ROLES = ['admin', 'county', 'town'] as const;

export const qcReasonSchema = z.object({
  code: z.enum(QC_REASON_CODES),
  /** Names the value and the limit it broke. */
  detail: z.string(),
});
export type QcReason = z.infer<typeof qcReasonSchema>;

/** A reading whose flag is not N, or was changed by an officer (`GET /quality/flags`). */
export const flaggedReadingSchema = z.object({
  device: z.string(),
  metric: z.string(),
  ts: z.number(),
  station: z.nullable(z.string()),
  /** What the automatic checks said. */
  autoFlag: z.enum(DATA_FLAGS),
  /** The flag in effect (an officer's invalidation or restore decides over the automatic one). */
  flag: z.enum(DATA_FLAGS),
  reasons: z.array(qcReasonSchema),
});
export type FlaggedReading = z.infer<typeof flaggedReadingSchema>;

export const qualityFlagsResponseSchema = z.object({ flags: z.array(flaggedReadingSchema) });
export type QualityFlagsResponse = z.infer<typeof qualityFlagsResponseSchema>;

/** One flag change (`GET /quality/audit`, and the `change` of invalidate/restore). */
export const qualityAuditEntrySchema = z.object({
  id: z.number(),
  at: z.number(),
  actor: z.string(),
  action: z.enum(['auto', 'invalidate', 'restore', 'window_set', 'window_removed']),
  device: z.nullable(z.string()),
  metric: z.nullable(z.string()),
  station: z.nullable(z.string()),
  from: z.nullable(z.number()),
  to: z.nullable(z.number()),
  flag: z.nullable(z.enum(DATA_FLAGS)),
  reason: z.string(),
  /** How many stored readings the change covered. */
  readings: z.number(),
});
export type QualityAuditEntry = z.infer<typeof qualityAuditEntrySchema>;
export const qualityAuditResponseSchema = z.object({ audit: z.array(qualityAuditEntrySchema) });
export type QualityAuditResponse = z.infer<typeof qualityAuditResponseSchema>;
export const qualityChangeResponseSchema = z.object({ change: qualityAuditEntrySchema });
export type QualityChangeResponse = z.infer<typeof qualityChangeResponseSchema>;

/** An operator's maintenance or calibration window: readings of its scope in [from, to) are M or C. */
export const qualityWindowSchema = z.object({
  id: z.string(),
  kind: z.enum(['maintenance', 'calibration']),
  from: z.number(),
  to: z.number(),
  device: z.optional(z.string()),
  station: z.optional(z.string()),
  metrics: z.optional(z.readonly(z.array(z.string()))),
  reason: z.optional(z.string()),
  actor: z.string(),
  createdAt: z.number(),
  removedAt: z.nullable(z.number()),
});
export type QualityWindow = z.infer<typeof qualityWindowSchema>;
export const qualityWindowsResponseSchema = z.object({ windows: z.array(qualityWindowSchema) });
export type QualityWindowsResponse = z.infer<typeof qualityWindowsResponseSchema>;
export const qualityWindowResponseSchema = z.object({ window: qualityWindowSchema });
export type QualityWindowResponse = z.infer<typeof qualityWindowResponseSchema>;
