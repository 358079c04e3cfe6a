import type { DeviceEvent, Reading } from '@village/protocol';
import {
  type CompiledThreshold,
  type HeldCondition,
  advanceCondition,
  appliesTo,
  compileThreshold,
  idleCondition,
  thresholdSignal,
} from '@village/rules';
import { DEFAULT_EVENT_COOLDOWN_MS, type LocalRuleConfig } from './local-rules-config.js';

/** A rule that fired (`raise`: run its actions) or re-armed (`clear`: run its clearActions). */
export interface Firing {
  rule: LocalRuleConfig;
  phase: 'raise' | 'clear';
  device: string;
  /** What fired it, carried into the webhook body and the local_action event. */
  cause: { event: string } | { metric: string; value: number };
}

export interface RuleTriggers {
  /** Feeds readings; returns the firings they cause (usually none). */
  readings(readings: readonly Reading[]): Firing[];
  /** Feeds one event at time `now` (ms epoch); returns the firings it causes. */
  event(event: DeviceEvent, now: number): Firing[];
}

/**
 * Decides when a local rule fires, without doing anything. Threshold triggers use the rules
 * library's held condition (hold time, separate clear level, clear hold), so a value hovering on
 * the line raises once and re-arms only after it has truly cleared. Event triggers fire at most
 * once per cooldown per rule: a wristband that repeats its SOS every few seconds sounds the siren
 * once, not once per datagram.
 */
export function createRuleTriggers(rules: readonly LocalRuleConfig[]): RuleTriggers {
  const thresholds: { rule: LocalRuleConfig; compiled: CompiledThreshold }[] = [];
  const eventRules: {
    rule: LocalRuleConfig;
    types: Set<string>;
    devices?: Set<string>;
    cooldownMs: number;
  }[] = [];
  rules.forEach((rule, i) => {
    const t = rule.trigger;
    if (t.metric !== undefined) {
      const above = t.above !== undefined;
      const level = (above ? t.above : t.below)!;
      thresholds.push({
        rule,
        // The schema has already checked every field; this throws only on a programming error.
        compiled: compileThreshold(
          {
            id: rule.id,
            metric: t.metric,
            devices: t.devices,
            direction: above ? 'above' : 'below',
            level,
            clearLevel: (above ? t.clearBelow : t.clearAbove) ?? level,
            holdMs: t.holdMs,
            clearHoldMs: t.clearHoldMs,
          },
          `localRules[${i}].trigger`,
        ),
      });
    } else {
      eventRules.push({
        rule,
        types: new Set(t.events),
        devices: t.devices ? new Set(t.devices) : undefined,
        cooldownMs: t.cooldownMs ?? DEFAULT_EVENT_COOLDOWN_MS,
      });
    }
  });
  const byMetric = new Map<string, typeof thresholds>();
  for (const t of thresholds) {
    const list = byMetric.get(t.compiled.metric) ?? [];
    list.push(t);
    byMetric.set(t.compiled.metric, list);
  }
  /** Held condition per rule and device; an idle one is deleted, so memory follows live episodes. */
  const conditions = new Map<string, HeldCondition>();
  /** Last firing per rule and device; bounded by the rules times the edge's devices. */
  const lastFiredAt = new Map<string, number>();

  return {
    readings(readings) {
      const out: Firing[] = [];
      if (byMetric.size === 0) return out;
      for (const r of readings) {
        const list = byMetric.get(r.metric);
        // A reading the device itself marks bad (a failed poll, an out-of-range sensor) must not sound a siren.
        if (!list || typeof r.value !== 'number' || r.quality === 'bad') continue;
        for (const { rule, compiled } of list) {
          if (!appliesTo(compiled, r.device, '')) continue;
          const key = `${rule.id}|${r.device}`;
          const signal = thresholdSignal(compiled, r.value);
          let c = conditions.get(key);
          if (!c) {
            if (signal !== 'trigger') continue;
            c = idleCondition();
            conditions.set(key, c);
          }
          const step = advanceCondition(c, signal, r.ts, compiled.holdMs, compiled.clearHoldMs);
          if (step === 'raise' || step === 'clear') {
            out.push({
              rule,
              phase: step,
              device: r.device,
              cause: { metric: r.metric, value: r.value },
            });
          }
          if (c.phase === 'idle') conditions.delete(key);
        }
      }
      return out;
    },

    event(event, now) {
      const out: Firing[] = [];
      for (const e of eventRules) {
        if (!e.types.has(event.type) || (e.devices && !e.devices.has(event.device))) continue;
        const key = `${e.rule.id}|${event.device}`;
        const last = lastFiredAt.get(key);
        if (last !== undefined && now - last < e.cooldownMs) continue;
        lastFiredAt.set(key, now);
        out.push({ rule: e.rule, phase: 'raise', device: event.device, cause: { event: event.type } });
      }
      return out;
    },
  };
}
