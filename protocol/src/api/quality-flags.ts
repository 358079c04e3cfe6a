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
