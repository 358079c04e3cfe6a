import type { Severity } from '@village/protocol';
import { z } from 'zod';
import type { ElderCareOptions } from './elder-care.js';
import { DEVICE_EVENT_QUIET_MS_DEFAULT } from './engine.js';
import { INCIDENT_DEFAULTS, type IncidentOptions } from './incidents.js';
import type { ThresholdRule } from './threshold.js';

/**
 * The rules' options as a config file gives them (the cloud's `rules:` section is built from
 * these), checked by zod: one copy of every key, bound and default. Each schema's output must
 * satisfy the option type it fills, so a key renamed on one side is a compile error; deeper
 * checks (a clear level on the wrong side of its level, waking-hours formats, ...) stay with
 * `compileRules`, which throws RulesError naming the key.
 */
const ms = z.number().int().min(0);
const severity = z.enum(['info', 'warning', 'critical'] as const satisfies readonly Severity[]);

/** One ThresholdRule. */
export const thresholdRuleSchema = z.strictObject({
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
  severity: severity.optional(),
  /** Averaging period of the values judged, named in the alert text. Default 'instant'. */
  averaging: z.enum(['instant', '1h', '8h', '24h']).optional(),
}) satisfies z.ZodType<ThresholdRule>;

/** ElderCareOptions (elder-care.ts gives each key's meaning and default); every key optional, ms and % units. */
export const elderCareOptionsSchema = z.strictObject({
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
  severity: z.record(z.string(), severity).optional(),
}) satisfies z.ZodType<ElderCareOptions>;

/** IncidentOptions, its constant defaults (INCIDENT_DEFAULTS) filled in. */
export const incidentOptionsSchema = z.strictObject({
  /** Time to acknowledge before escalating one level, ms. Default 180 000 (3 minutes). */
  ackDeadlineMs: z.number().int().min(1).default(INCIDENT_DEFAULTS.ackDeadlineMs),
  /** Time at each further level before the next escalation, ms. Default: ackDeadlineMs. */
  escalationStepMs: z.number().int().min(1).optional(),
  /** Escalation levels, lowest first. */
  levels: z
    .array(z.string().min(1))
    .min(1)
    .default(() => [...INCIDENT_DEFAULTS.levels]),
  /** At the top level the notification repeats this often until acknowledged, ms. Default: escalationStepMs. */
  topRepeatMs: z.number().int().min(1).optional(),
  /** An alert about the same subject within this long (event time) of an open incident's last alert joins it, ms. */
  correlationWindowMs: ms.default(INCIDENT_DEFAULTS.correlationWindowMs),
  /** No alert joins an incident more than this long (event time) after it began, ms. */
  maxDurationMs: ms.default(INCIDENT_DEFAULTS.maxDurationMs),
  /** Incidents of one station this close in event time are linked as one situation, ms. */
  situationWindowMs: ms.default(INCIDENT_DEFAULTS.situationWindowMs),
  /** A fall/SOS/critical silence re-arms its incident at most this often (event time), ms. */
  rearmAfterMs: ms.default(INCIDENT_DEFAULTS.rearmAfterMs),
  /** Alert rules whose critical alerts re-arm an incident. */
  lifeSafetyRules: z.array(z.string().min(1)).default(() => [...INCIDENT_DEFAULTS.lifeSafetyRules]),
  /** Optional "arrived on scene" step: after an acknowledgement, the level above is told once if nobody arrives in this long, ms. */
  arrivalTimeoutMs: z.number().int().min(1).optional(),
  /** An alert received this long after its data time opens a late incident, ms. */
  lateAfterMs: ms.default(INCIDENT_DEFAULTS.lateAfterMs),
  /** Prefix of incident ids. */
  idPrefix: z.string().min(1).default(INCIDENT_DEFAULTS.idPrefix),
}) satisfies z.ZodType<IncidentOptions>;

/** RulesConfig.deviceEventQuietMs: a critical event of a non-wristband device clears after this long without another, ms. */
export const deviceEventQuietMsSchema = z.number().int().min(1).default(DEVICE_EVENT_QUIET_MS_DEFAULT);
