import { z } from 'zod/mini';

/** A mean and whether it meets GB 3095-2012's validity rule; `reason` says why not. */
export const publishedMeanSchema = z.object({
  value: z.nullable(z.number()),
  valid: z.boolean(),
  /** Samples (hourly mean) or valid hourly means (8 h, 24 h, day) it rests on. */
  n: z.number(),
  reason: z.optional(z.string()),
});
export type PublishedMean = z.infer<typeof publishedMeanSchema>;

/** One published hourly or daily AQI of a station (`GET /aqi/hourly`, `/aqi/daily`, `/aqi/latest`). */
export const publishedAqiRowSchema = z.object({
  kind: z.enum(['hourly', 'daily']),
  station: z.string(),
  village: z.nullable(z.string()),
  /** [start, end) of the hour or the natural day, ms epoch. */
  start: z.number(),
  end: z.number(),
  aqi: z.nullable(z.number()),
  /** HJ 633 level 1-6. */
  level: z.nullable(z.number()),
  levelZh: z.nullable(z.string()),
  primary: z.array(z.string()),
  iaqi: z.record(z.string(), z.nullable(z.number())),
  concentrations: z.partialRecord(z.string(), z.number()),
  /** Per pollutant and period, e.g. `{ 'PM2.5': { '1h': …, '24h': … } }`. */
  means: z.partialRecord(z.string(), z.partialRecord(z.string(), publishedMeanSchema)),
  /** The AQI table version it was computed with. */
  version: z.string(),
  /** Readings of the station in the period left out by quality control (flag not N). */
  flagged: z.number(),
  publishedAt: z.number(),
});
export type PublishedAqiRow = z.infer<typeof publishedAqiRowSchema>;

export const publishedAqiResponseSchema = z.object({ aqi: z.array(publishedAqiRowSchema) });
export type PublishedAqiResponse = z.infer<typeof publishedAqiResponseSchema>;
