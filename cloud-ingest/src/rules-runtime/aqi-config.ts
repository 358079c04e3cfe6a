import { z } from 'zod';

/** `rules.aqi` of cloud.yaml: the published hourly and daily AQI (hourly-aqi-publisher.ts). */
export const aqiSectionSchema = z.strictObject({
  /** false: no published AQI (the dashboard then has none to show). */
  enabled: z.boolean().default(true),
  /** A clock hour is published this long after it ends, so data a little late still counts, ms. Default 300 000. */
  graceMs: z.number().int().min(0).max(86_400_000).default(300_000),
  /** How often due hours and days are looked for, ms. Default 60 000. */
  publishEveryMs: z.number().int().min(100).max(3_600_000).default(60_000),
});
export type AqiSection = z.infer<typeof aqiSectionSchema>;
