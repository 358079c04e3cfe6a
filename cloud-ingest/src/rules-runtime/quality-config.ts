import type { QcConfig, QcProfile } from '@village/rules';
import { z } from 'zod';

/**
 * `rules.quality` of cloud.yaml: the automatic quality control the rules runtime runs on every
 * committed reading before the rules (docs/rules.md "Quality control in the cloud"). Profiles
 * hold the checks per metric (the pure functions of @village/rules, quality-control/); devices
 * name their profile (and, when it differs from their edge's, their station). A device not
 * listed gets the profile `default`: the built-in one below unless cloud.yaml defines its own.
 */
const ms = z.number().int().min(1);
const range = z.strictObject({ unit: z.string().min(1), min: z.number(), max: z.number() });
const metricRule = z.strictObject({
  ranges: z.array(range).optional(),
  spike: z.strictObject({ delta: z.number().positive(), withinMs: ms }).optional(),
  flatline: z
    .strictObject({
      count: z.number().int().min(2),
      minMs: z.number().int().min(0),
      tolerance: z.number().min(0).optional(),
    })
    .optional(),
});
const profileSchema = z.strictObject({
  metrics: z.record(z.string(), metricRule).default({}),
  opticalPm: z
    .strictObject({
      humidityMetric: z.string().min(1),
      maxHumidity: z.number().min(0).max(100),
      pmMetrics: z.array(z.string().min(1)).min(1),
      maxAgeMs: ms,
    })
    .optional(),
  status: z
    .strictObject({
      metric: z.string().min(1),
      okValues: z.array(z.number()).min(1),
      maintenanceValues: z.array(z.number()).optional(),
      calibrationValues: z.array(z.number()).optional(),
      maxAgeMs: ms,
    })
    .optional(),
});

export const qualitySectionSchema = z.strictObject({
  /** false: no quality control (every reading is `N`, as before issue 16). */
  enabled: z.boolean().default(true),
  profiles: z.record(z.string(), profileSchema).default({}),
  devices: z
    .record(
      z.string(),
      z.strictObject({
        profile: z.string().min(1),
        station: z.string().min(1).optional(),
        /** The sensor's own reporting interval, ms: the hourly-mean validity counts slots of it. */
        intervalMs: z.number().int().min(1_000).max(3_600_000).optional(),
      }),
    )
    .default({}),
  pmPair: z
    .strictObject({
      pm25Metrics: z.array(z.string().min(1)),
      pm10Metrics: z.array(z.string().min(1)),
      tolerance: z.number().min(0),
      withinMs: ms,
    })
    .optional(),
});
export type QualitySection = z.infer<typeof qualitySectionSchema>;

const UG = ['µg/m³', 'μg/m³', 'ug/m3', 'ug/m³'];
const ug = (max: number) => UG.map((unit) => ({ unit, min: 0, max }));

/**
 * Physical ranges only, so nothing real is flagged by a default: the measuring ranges of common
 * low-cost sensors (PM 0–1000 µg/m³; electrochemical gas cells), CO in mg/m³ as HJ 633 gives it
 * (CO sent in µg/m³ is then `unit_unknown`, not an AQI of 500). Spike and flatline depend on the
 * sensor and the site: a profile in cloud.yaml turns them on.
 */
export const DEFAULT_QC_PROFILE: QcProfile = {
  metrics: {
    pm25: { ranges: ug(1000) },
    pm2_5: { ranges: ug(1000) },
    pm10: { ranges: ug(2000) },
    o3: { ranges: ug(2000) },
    no2: { ranges: ug(2000) },
    so2: { ranges: ug(3000) },
    co: {
      ranges: [
        { unit: 'mg/m³', min: 0, max: 150 },
        { unit: 'mg/m3', min: 0, max: 150 },
      ],
    },
    humidity: {
      ranges: [
        { unit: '%', min: 0, max: 100 },
        { unit: '%RH', min: 0, max: 100 },
      ],
    },
  },
};

const DEFAULT_PM_PAIR: NonNullable<QcConfig['pmPair']> = {
  pm25Metrics: ['pm25', 'pm2_5'],
  pm10Metrics: ['pm10'],
  tolerance: 5,
  withinMs: 600_000,
};

/** The rules library's QcConfig; `devices` is filled in as devices are learned from batches. */
export function qcConfigOf(section: QualitySection): QcConfig & {
  devices: Record<string, { profile: string; station?: string }>;
} {
  const devices: Record<string, { profile: string; station?: string }> = {};
  for (const [id, d] of Object.entries(section.devices))
    devices[id] =
      d.station === undefined ? { profile: d.profile } : { profile: d.profile, station: d.station };
  return {
    profiles: { default: DEFAULT_QC_PROFILE, ...section.profiles },
    devices,
    pmPair: section.pmPair ?? DEFAULT_PM_PAIR,
  };
}
