import {
  INCIDENT_DEFAULTS,
  deviceEventQuietMsSchema,
  elderCareOptionsSchema,
  incidentOptionsSchema,
  thresholdRuleSchema,
} from '@village/rules';
import { z } from 'zod';
import { aqiSectionSchema } from './aqi-config.js';
import { qualitySectionSchema } from './quality-config.js';

/**
 * The optional `rules:` section of cloud.yaml. People and places come from the registry; this
 * section holds what the rules do with them. Its keys, bounds and defaults are the rules
 * library's own schemas (@village/rules options-schema.ts); the cloud adds only what is its own:
 * `enabled`, `persistIntervalMs`, and escalation levels limited to the registry's places. Deeper
 * checks (a clear level on the wrong side of its level, unknown waking-hours format, ...) are the
 * rules library's own, run at start-up by `compileRules`, and reported as a ConfigError naming
 * the key.
 */
const PLACE_LEVELS = ['village', 'town', 'county'] as const;

/** `rules.incidents`: a cloud picks neither the life-safety rules nor the incident id prefix. */
const incidentsSectionSchema = incidentOptionsSchema.omit({ lifeSafetyRules: true, idPrefix: true }).extend({
  /** Escalation levels, lowest first; each must be village, town or county (the registry's places). */
  levels: z
    .array(z.enum(PLACE_LEVELS))
    .min(1)
    .default(() => [...INCIDENT_DEFAULTS.levels]),
});

export const rulesSectionSchema = z
  .strictObject({
    /** false: no rules runtime at all (no alerts, incidents or notifications). */
    enabled: z.boolean().default(true),
    thresholds: z.array(thresholdRuleSchema).default([]),
    /** Elder-care options of @village/rules (ElderCareOptions; every key optional, ms and % units). */
    elderCare: elderCareOptionsSchema.default({}),
    incidents: incidentsSectionSchema.prefault({}),
    /** A critical event of a non-wristband device (smoke, intrusion) clears after this long without another, ms. */
    deviceEventQuietMs: deviceEventQuietMsSchema,
    /**
     * State is written at once when a step raised, cleared or changed anything an officer sees;
     * otherwise (only counts and held conditions moved) at most this long later, ms. Default 250.
     */
    persistIntervalMs: z.number().int().min(0).max(60_000).default(250),
    /** Automatic quality control before the rules (quality-config.ts). */
    quality: qualitySectionSchema.prefault({}),
    /** The published hourly and daily AQI (aqi-config.ts). */
    aqi: aqiSectionSchema.prefault({}),
  })
  .prefault({});

export type RulesSection = z.infer<typeof rulesSectionSchema>;
