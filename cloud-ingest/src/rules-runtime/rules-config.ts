import { z } from 'zod';
import { aqiSectionSchema } from './aqi-config.js';
import { qualitySectionSchema } from './quality-config.js';

/**
 * The optional `rules:` section of cloud.yaml. People and places come from the registry; this
 * section holds what the rules do with them. Deeper checks (a clear level on the wrong side of
 * its level, unknown waking-hours format, ...) are the rules library's own, run at start-up by
 * `compileRules`, and reported as a ConfigError naming the key.
 */
const ms = z.number().int().min(0);

const thresholdSchema = z.strictObject({
  /** Stable id; part of every alert key the rule raises. */
  id: z.string().min(1),
  metric: z.string().min(1),
  /** Only devices of this village (registry id); omitted: every village. */
  village: z.string().min(1).optional(),
  /** Only these devices; omitted: every device reporting the metric. */
  devices: z.array(z.string().min(1)).optional(),
  direction: z.enum(['above', 'below']).default('above'),
  level: z.number(),
  /** The far side of the hysteresis band; default `level` (no band). */
  clearLevel: z.number().optional(),
  /** The value must stay beyond `level` this long before raising, ms (data time). Default 0. */
  holdMs: ms.optional(),
  /** The value must stay on the clear side this long before clearing, ms. Default 0. */
  clearHoldMs: ms.optional(),
  /** 'critical' opens incidents. Default 'warning'. */
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  /** Averaging period of the values judged, named in the alert text. Default 'instant'. */
  averaging: z.enum(['instant', '1h', '8h', '24h']).optional(),
});

export const rulesSectionSchema = z
  .strictObject({
    /** false: no rules runtime at all (no alerts, incidents or notifications). */
    enabled: z.boolean().default(true),
    thresholds: z.array(thresholdSchema).default([]),
    /** Elder-care options of @village/rules (ElderCareOptions; every key optional, ms and % units). */
    elderCare: z
      .strictObject({
        vitalsHoldMs: ms.optional(),
        heartRateClearMarginBpm: z.number().min(0).optional(),
        spo2ClearMarginPct: z.number().min(0).optional(),
        noMovementMs: ms.optional(),
        noMovementCriticalMs: ms.optional(),
        notWornHoldMs: ms.optional(),
        batteryLowPct: z.number().min(0).max(100).optional(),
        batteryClearPct: z.number().min(0).max(100).optional(),
        reportIntervalMs: z.number().int().min(1).optional(),
        silenceFactor: z.number().min(1).optional(),
        silenceAloneCriticalMs: ms.optional(),
        plausibleHeartRate: z.tuple([z.number().min(0), z.number().min(0)]).optional(),
        plausibleSpo2Min: z.number().min(0).max(100).optional(),
        eventQuietMs: ms.optional(),
        utcOffsetMinutes: z.number().int().min(-720).max(840).optional(),
        severity: z.record(z.string(), z.enum(['info', 'warning', 'critical'])).optional(),
      })
      .default({}),
    incidents: z
      .strictObject({
        /** Time to acknowledge before escalating one level, ms. Default 180 000 (3 minutes). */
        ackDeadlineMs: z.number().int().min(1).default(180_000),
        /** Time at each further level before the next escalation, ms. Default: ackDeadlineMs. */
        escalationStepMs: z.number().int().min(1).optional(),
        /** Escalation levels, lowest first; each must be village, town or county (the registry's places). */
        levels: z
          .array(z.enum(['village', 'town', 'county']))
          .min(1)
          .default(['village', 'town', 'county']),
        /** At the top level the notification repeats this often until acknowledged, ms. Default: escalationStepMs. */
        topRepeatMs: z.number().int().min(1).optional(),
        /** An alert about the same subject within this long (event time) of an open incident's last alert joins it, ms. Default 600 000. */
        correlationWindowMs: ms.default(600_000),
        /** No alert joins an incident more than this long (event time) after it began, ms. Default 14 400 000. */
        maxDurationMs: ms.optional(),
        /** Incidents of one station this close in event time are linked as one situation, ms. Default 1 800 000. */
        situationWindowMs: ms.optional(),
        /** A fall/SOS/critical silence re-arms its incident at most this often (event time), ms. Default 60 000. */
        rearmAfterMs: ms.optional(),
        /** Optional "arrived on scene" step: after an acknowledgement, the level above is told once if nobody arrives in this long, ms. */
        arrivalTimeoutMs: z.number().int().min(1).optional(),
        /** An alert received this long after its data time opens a late incident, ms. Default 60 000. */
        lateAfterMs: ms.default(60_000),
      })
      .prefault({}),
    /** A critical event of a non-wristband device (smoke, intrusion) clears after this long without another, ms. */
    deviceEventQuietMs: z.number().int().min(1).default(1_800_000),
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
