import {
  type Command,
  type CommandResult,
  type DeviceEvent,
  type EventData,
  type Reading,
  checkEvent,
} from '@village/protocol';
import type { Logger } from '@village/service-kit';
import { Counter, type Registry } from 'prom-client';
import { attempt } from './action-attempts.js';
import { createActionQueue } from './action-queue.js';
import type { LocalActionConfig, LocalRuleConfig } from './local-rules-config.js';
import { type Firing, createRuleTriggers } from './rule-triggers.js';
import { postWebhook } from './webhook-post.js';

export interface LocalRulesOptions {
  rules: readonly LocalRuleConfig[];
  edgeId: string;
  /** The supervisor's command path, the same one the cloud's commands take. */
  command(cmd: Command): Promise<CommandResult>;
  /** Stores an event for the cloud (the outbox's event lane); it reaches the cloud once the uplink is back. */
  report(event: DeviceEvent): Promise<void>;
  registry: Registry;
  log: Logger;
  now: () => number;
  /** Actions running at once. */
  concurrency?: number;
  /** Actions waiting to run; past this a firing's actions are dropped and counted. */
  maxQueued?: number;
}

export interface LocalRules {
  /** Judges readings a driver just produced. Never throws, never waits for an action. */
  observeReadings(readings: readonly Reading[]): void;
  /** Judges an event a driver just produced. Never throws, never waits for an action. */
  observeEvent(event: DeviceEvent): void;
  /** Drops waiting actions, abandons retries and waits for running tries to settle. */
  stop(): Promise<void>;
}

interface Job {
  firing: Firing;
  action: LocalActionConfig;
  /** Same on every try of this action: the webhook's X-Village-Delivery, the stem of command ids. */
  delivery: string;
  firedAt: number;
}

/** The device a command goes to, or a webhook's origin (never its path or query, which may hold a token). */
function targetOf(action: LocalActionConfig): string {
  return action.command ? action.command.device : new URL(action.webhook!.url).origin;
}

/** Longest error text put in a local_action event (protocol LIMITS.maxStringValue is 256). */
const MAX_ERROR_TEXT = 200;

/**
 * Edge-local rules (DESIGN.md "Edge agent"): fall, SOS or severe pollution switch a siren or
 * call a webhook from the edge itself, so they work with the cloud unreachable. Rules are judged
 * on the driver's emit path; actions run on a bounded queue beside it, so a slow Modbus write or
 * a hung webhook host never slows ingest. Each action's outcome is logged, counted in
 * `edge_local_rule_actions_total{rule,result}` and stored as a `local_action` event for the cloud.
 */
export function startLocalRules(o: LocalRulesOptions): LocalRules {
  const triggers = createRuleTriggers(o.rules);
  const stopAll = new AbortController();
  const stem = o.now().toString(36);
  let fired = 0;
  let lastReportTs = 0;
  // The cloud keys events by (device, type, ts): two outcomes in the same millisecond must not
  // overwrite each other, so each local_action event gets a strictly later ts than the last.
  const reportTs = () => {
    lastReportTs = Math.max(o.now(), lastReportTs + 1);
    return lastReportTs;
  };

  const actions = new Counter({
    name: 'edge_local_rule_actions_total',
    help: 'Edge-local rule actions by outcome: ok, error (after every try), dropped (queue full)',
    labelNames: ['rule', 'result'],
    registers: [o.registry],
  });
  const firings = new Counter({
    name: 'edge_local_rule_firings_total',
    help: 'Edge-local rules fired (raise) or re-armed (clear)',
    labelNames: ['rule', 'phase'],
    registers: [o.registry],
  });
  const faults = new Counter({
    name: 'edge_local_rule_faults_total',
    help: 'Errors inside the local rules themselves (judging input, reporting an outcome)',
    labelNames: ['reason'],
    registers: [o.registry],
  });

  const queue = createActionQueue<Job>(run, {
    concurrency: o.concurrency ?? 4,
    maxQueued: o.maxQueued ?? 256,
  });

  async function run(job: Job): Promise<void> {
    const { action, firing } = job;
    const kind = action.command ? 'command' : 'webhook';
    try {
      const { attempts } = await attempt((signal, n) => tryOnce(job, signal, n), {
        maxAttempts: action.maxAttempts,
        backoffMs: action.backoffMs,
        timeoutMs: action.timeoutMs,
        signal: stopAll.signal,
      });
      outcome(job, kind, attempts);
    } catch (err) {
      if (stopAll.signal.aborted) {
        o.log.info({ rule: firing.rule.id, action: kind }, 'local rule action abandoned: edge stopping');
        return;
      }
      const e = err as Error & { attempts?: number };
      outcome(job, kind, e.attempts ?? action.maxAttempts, e.message);
    }
  }

  async function tryOnce(job: Job, signal: AbortSignal, n: number): Promise<void> {
    const { action, firing } = job;
    if (action.command) {
      const c = action.command;
      const result = await o.command({
        // A fresh id per try: the supervisor runs each id once and answers a repeat with the first outcome.
        id: `${job.delivery}.${n}`,
        device: c.device,
        action: c.action,
        params: c.params,
        expiresAt: o.now() + action.timeoutMs,
      });
      if (!result.ok) throw new Error(result.error ?? 'command failed');
      return;
    }
    const w = action.webhook!;
    const body = JSON.stringify({
      type: 'local_rule',
      edgeId: o.edgeId,
      rule: firing.rule.id,
      phase: firing.phase,
      device: firing.device,
      cause: firing.cause,
      ts: job.firedAt,
      delivery: job.delivery,
    });
    await postWebhook(w.url, body, { secret: w.secret, delivery: job.delivery, signal });
  }

  function outcome(job: Job, kind: 'command' | 'webhook', attempts: number, error?: string): void {
    const rule = job.firing.rule.id;
    const ok = error === undefined;
    actions.inc({ rule, result: ok ? 'ok' : 'error' });
    const target = targetOf(job.action);
    const entry = { rule, action: kind, target, phase: job.firing.phase, attempts, ...(ok ? {} : { error }) };
    if (ok) o.log.info(entry, 'local rule action done');
    else o.log.warn(entry, 'local rule action failed');
    report(job, kind, target, attempts, error);
  }

  function report(
    job: Job,
    kind: 'command' | 'webhook',
    target: string,
    attempts: number,
    error?: string,
  ): void {
    const { firing } = job;
    const data: EventData = {
      rule: firing.rule.id,
      action: kind,
      target,
      phase: firing.phase,
      ok: error === undefined,
      attempts,
      source: firing.device,
      firedAt: job.firedAt,
      ...('event' in firing.cause
        ? { trigger: firing.cause.event }
        : { trigger: firing.cause.metric, value: firing.cause.value }),
      ...(error === undefined ? {} : { error: error.slice(0, MAX_ERROR_TEXT) }),
    };
    const event: DeviceEvent = {
      device: o.edgeId,
      type: 'local_action',
      severity: error === undefined ? 'info' : 'warning',
      ts: reportTs(),
      data,
    };
    // Checked like a driver's event, so a bad one can never make the cloud reject a whole batch.
    Promise.resolve()
      .then(() => o.report(checkEvent(event)))
      .catch((err) => {
        faults.inc({ reason: 'report' });
        o.log.error(
          { rule: firing.rule.id, err: (err as Error).message },
          'storing a local_action event failed',
        );
      });
  }

  function fire(firing: Firing): void {
    const rule = firing.rule.id;
    firings.inc({ rule, phase: firing.phase });
    o.log.info({ rule, phase: firing.phase, device: firing.device, cause: firing.cause }, 'local rule fired');
    const list = firing.phase === 'raise' ? firing.rule.actions : firing.rule.clearActions;
    const firedAt = o.now();
    list.forEach((action, i) => {
      const job: Job = { firing, action, delivery: `local:${rule}:${stem}-${++fired}.${i}`, firedAt };
      if (queue.push(job)) return;
      if (stopAll.signal.aborted) return;
      actions.inc({ rule, result: 'dropped' });
      o.log.warn({ rule, queued: queue.size }, 'local rule action dropped: action queue full');
      report(job, action.command ? 'command' : 'webhook', targetOf(action), 0, 'action queue full');
    });
  }

  const guarded =
    <A extends unknown[]>(what: string, fn: (...a: A) => Firing[]) =>
    (...a: A): void => {
      if (o.rules.length === 0) return;
      let out: Firing[];
      try {
        out = fn(...a);
      } catch (err) {
        faults.inc({ reason: what });
        o.log.error({ err: (err as Error).message }, `local rules: judging ${what} failed`);
        return;
      }
      for (const f of out) fire(f);
    };

  return {
    observeReadings: guarded('readings', (readings: readonly Reading[]) => triggers.readings(readings)),
    observeEvent: guarded('event', (event: DeviceEvent) => triggers.event(event, o.now())),
    async stop() {
      stopAll.abort();
      await queue.stop();
    },
  };
}
