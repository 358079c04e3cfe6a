import { ID_PATTERN, LIMITS } from '@village/protocol';
import { z } from 'zod';

/**
 * Schema of `localRules:` in edge.yaml: rules the edge acts on by itself, even with the cloud
 * unreachable (DESIGN.md "Edge agent": fall, SOS, severe pollution → a siren coil, a webhook).
 *
 *   localRules:
 *     - id: sos-siren
 *       trigger: { events: [fall, sos], devices: [band-1], cooldownMs: 60000 }
 *       actions:
 *         - command: { device: siren-1, action: write, params: { point: siren, value: true } }
 *         - webhook: { url: http://duty-phone.local/hook, secret: ${SIREN_HOOK_SECRET} }
 *     - id: pm25-severe
 *       trigger: { metric: pm2_5, above: 250, clearBelow: 200, holdMs: 60000 }
 *       actions: [{ command: { device: siren-1, action: write, params: { point: strobe, value: true } } }]
 *       clearActions: [{ command: { device: siren-1, action: write, params: { point: strobe, value: false } } }]
 */
const id = z.string().regex(ID_PATTERN, 'must be an id: letters, digits and . _ : - (at most 128)');
const paramValue = z.union([z.number(), z.boolean(), z.string().max(LIMITS.maxStringValue)]);

const triggerSchema = z
  .strictObject({
    /** Event types that fire the rule (`fall`, `sos`, `smoke`, ...). Give this or `metric`. */
    events: z.array(id).min(1).optional(),
    /** After an event fired the rule, further matching events are ignored this long, ms. */
    cooldownMs: z.number().int().min(0).optional(),
    /** Metric judged against a level with hysteresis. Give this or `events`. */
    metric: id.optional(),
    /** Fires when the value stays above this ... */
    above: z.number().optional(),
    /** ... and re-arms once it stays at or below this (default: `above`; no dead band). */
    clearBelow: z.number().optional(),
    /** Fires when the value stays below this ... */
    below: z.number().optional(),
    /** ... and re-arms once it stays at or above this (default: `below`). */
    clearAbove: z.number().optional(),
    /** The value must stay beyond the level this long (ms, reading time) before the rule fires. */
    holdMs: z.number().int().min(0).default(0),
    /** The value must stay on the clear side this long (ms) before the rule re-arms. */
    clearHoldMs: z.number().int().min(0).default(0),
    /** Only these devices; omitted: any device. */
    devices: z.array(id).min(1).optional(),
  })
  .superRefine((t, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if ((t.events === undefined) === (t.metric === undefined)) {
      issue('events', 'give exactly one of events (an event trigger) or metric (a threshold trigger)');
      return;
    }
    if (t.events !== undefined) {
      for (const k of ['above', 'below', 'clearBelow', 'clearAbove'] as const) {
        if (t[k] !== undefined) issue(k, 'only a metric trigger takes a level');
      }
      return;
    }
    if (t.cooldownMs !== undefined)
      issue('cooldownMs', 'only an event trigger has a cooldown (a threshold re-arms when it clears)');
    if ((t.above === undefined) === (t.below === undefined)) {
      issue('above', 'give exactly one of above or below');
      return;
    }
    if (t.above !== undefined) {
      if (t.clearAbove !== undefined) issue('clearAbove', 'an above trigger clears with clearBelow');
      if (t.clearBelow !== undefined && t.clearBelow > t.above)
        issue('clearBelow', `must be at most above (${t.above})`);
    } else {
      if (t.clearBelow !== undefined) issue('clearBelow', 'a below trigger clears with clearAbove');
      if (t.clearAbove !== undefined && t.clearAbove < t.below!)
        issue('clearAbove', `must be at least below (${t.below})`);
    }
  });

const actionSchema = z
  .strictObject({
    /** A command through the driver supervisor, as the cloud would send it (e.g. a Modbus coil write). */
    command: z
      .strictObject({
        device: id,
        action: z.string().min(1).max(LIMITS.maxNameLength),
        params: z.record(z.string(), paramValue).default({}),
      })
      .optional(),
    /** A JSON POST; with a secret it is signed like the cloud's webhooks (X-Village-Signature). */
    webhook: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
        secret: z.string().min(1).optional(),
      })
      .optional(),
    /** Tries before the action counts as failed. */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Wait before the second try, ms; doubles per try. */
    backoffMs: z.number().int().min(0).max(600_000).default(1_000),
    /** One try may take this long, ms (a Modbus write, an HTTP exchange). */
    timeoutMs: z.number().int().min(100).max(120_000).default(5_000),
  })
  .refine((a) => (a.command === undefined) !== (a.webhook === undefined), {
    message: 'give exactly one of command or webhook',
  });

const ruleSchema = z
  .strictObject({
    id,
    trigger: triggerSchema,
    actions: z.array(actionSchema).min(1).max(16),
    /** Run when a threshold clears (e.g. switch the siren off); threshold triggers only. */
    clearActions: z.array(actionSchema).max(16).default([]),
  })
  .refine((r) => r.clearActions.length === 0 || r.trigger.metric !== undefined, {
    path: ['clearActions'],
    message: 'only a metric trigger clears; an event trigger has no clearActions',
  });

export const localRulesSchema = z
  .array(ruleSchema)
  .max(256)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (seen.has(r.id))
        ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate local rule id ${r.id}` });
      seen.add(r.id);
    });
  })
  .default([]);

/** Default cooldown of an event trigger, ms: one siren per minute however often a band repeats its SOS. */
export const DEFAULT_EVENT_COOLDOWN_MS = 60_000;

export type LocalRuleConfig = z.infer<typeof ruleSchema>;
export type LocalTriggerConfig = z.infer<typeof triggerSchema>;
export type LocalActionConfig = z.infer<typeof actionSchema>;
