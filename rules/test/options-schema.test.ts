import { describe, expect, it } from 'vitest';
import {
  DEVICE_EVENT_QUIET_MS_DEFAULT,
  INCIDENT_DEFAULTS,
  compileRules,
  deviceEventQuietMsSchema,
  elderCareOptionsSchema,
  incidentOptionsSchema,
  resolveIncidentOptions,
  thresholdRuleSchema,
} from '../src/index.js';

describe('the rules options as config files give them', () => {
  it('fill the same defaults the engine applies', () => {
    const parsed = incidentOptionsSchema.parse({});
    expect(parsed).toEqual(INCIDENT_DEFAULTS);
    const resolved = resolveIncidentOptions(parsed);
    expect(resolved).toEqual(resolveIncidentOptions());
    expect(resolved).toMatchObject({
      ackDeadlineMs: 180_000,
      escalationStepMs: 180_000,
      topRepeatMs: 180_000,
    });
    expect(deviceEventQuietMsSchema.parse(undefined)).toBe(DEVICE_EVENT_QUIET_MS_DEFAULT);
    expect(compileRules({}).deviceEventQuietMs).toBe(DEVICE_EVENT_QUIET_MS_DEFAULT);
  });

  it('name the response deadline ackDeadlineMs, as cloud.yaml does, and the engine uses it', () => {
    const opts = resolveIncidentOptions(incidentOptionsSchema.parse({ ackDeadlineMs: 5_000 }));
    expect(opts).toMatchObject({ ackDeadlineMs: 5_000, escalationStepMs: 5_000, topRepeatMs: 5_000 });
    expect(incidentOptionsSchema.safeParse({ ackTimeoutMs: 5_000 }).success).toBe(false);
  });

  it('refuse unknown keys and out-of-bound values, naming the key', () => {
    const keyOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
      r.error?.issues[0]?.path.join('.');
    expect(keyOf(incidentOptionsSchema.safeParse({ ackDeadlineMs: 0 }))).toBe('ackDeadlineMs');
    expect(keyOf(incidentOptionsSchema.safeParse({ levels: [] }))).toBe('levels');
    expect(keyOf(elderCareOptionsSchema.safeParse({ batteryLowPct: 101 }))).toBe('batteryLowPct');
    expect(elderCareOptionsSchema.safeParse({ vitalHoldMs: 1 }).success).toBe(false);
    expect(thresholdRuleSchema.parse({ id: 't', metric: 'pm25', level: 75 })).toMatchObject({
      direction: 'above',
    });
    expect(
      keyOf(thresholdRuleSchema.safeParse({ id: 't', metric: 'pm25', level: 75, severity: 'loud' })),
    ).toBe('severity');
  });

  it('give the engine what it compiles', () => {
    const rules = compileRules({
      thresholds: [thresholdRuleSchema.parse({ id: 't', metric: 'pm25', level: 75, clearLevel: 60 })],
      elderCare: elderCareOptionsSchema.parse({
        noMovementMs: 3_600_000,
        severity: { not_worn: 'critical' },
      }),
      incidents: incidentOptionsSchema.parse({ levels: ['village', 'town'] }),
    });
    expect(rules.thresholdsByMetric.get('pm25')?.[0]).toMatchObject({
      level: 75,
      clearLevel: 60,
      above: true,
    });
    expect(rules.elder).toMatchObject({ noMovementMs: 3_600_000 });
    expect(rules.elder.severity.not_worn).toBe('critical');
    expect(rules.incidents.levels).toEqual(['village', 'town']);
  });
});
