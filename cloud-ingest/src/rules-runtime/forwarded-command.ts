import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../http/api-error.js';
import { IncidentCommandError } from './incident-command-error.js';
import type { IncidentView } from './incident-view.js';
import type { IncidentCommand, RuleCommandResult, RuleCommandStore } from './rule-command-store.js';
import type { RulesMetrics } from './rules-metrics.js';

/** How often a host that queued a command asks for its answer, ms. */
const ANSWER_POLL_MS = 20;
/** A queued command row older than this is deleted (whatever its state) when a later one is read. */
const FORGET_AFTER_MS = 3_600_000;

/**
 * The side of the host an officer asked, when another host holds the incident's partition
 * (partitioned-rules.ts carries queued commands out on the holder): queues the command and waits
 * up to `waitMs` for the holder's answer, which it gives as a local command would (the view, or
 * the same IncidentCommandError). No answer in time: this host CANCELS the row (only a pending
 * row can be cancelled, and the holder accepts a row only while pending, in the fenced state
 * write that carries it out), so the 503 `rules_standby` means the command was not carried out
 * and never will be. Should this host die while waiting, the row's EXPIRY (created + waitMs)
 * keeps every holder from taking it later.
 */
export async function forwardCommand(
  deps: { commands: RuleCommandStore; waitMs: number; now(): number; metrics: RulesMetrics; log: Logger },
  partition: string,
  c: IncidentCommand,
): Promise<IncidentView> {
  const { commands, waitMs, metrics, log } = deps;
  const id = randomUUID();
  const createdAt = deps.now();
  await commands.send({ ...c, id, partition, createdAt, expiresAt: createdAt + waitMs });
  let result = await answerOf(commands, id, waitMs);
  if (result === undefined) {
    if (await commands.cancel(id)) {
      metrics.commandsForwarded.inc({ outcome: 'standby' });
      log.warn(
        { partition, incident: c.incident, action: c.action, waitedMs: waitMs },
        'rules: no holder answered a queued command; cancelled, answering rules_standby',
      );
      throw new ApiError(
        503,
        'rules_standby',
        `no host running the rules of incident ${c.incident} answered within ${waitMs} ms: the ${c.action} was not carried out`,
      );
    }
    // Accepted by the holder just now: its answer follows its commit.
    result = await answerOf(commands, id, waitMs);
  }
  void commands
    .forget(id, createdAt - FORGET_AFTER_MS)
    .catch((err: Error) => log.warn({ err: err.message }, 'rules: a queued command was not deleted'));
  if (result === undefined) {
    metrics.commandsForwarded.inc({ outcome: 'unanswered' });
    log.warn(
      { partition, incident: c.incident, action: c.action },
      'rules: the holder accepted a queued command but did not answer it in time',
    );
    throw new ApiError(
      503,
      'rules_standby',
      `the holder of incident ${c.incident} accepted the ${c.action} but did not answer within ${waitMs} ms: the incident shows its outcome`,
    );
  }
  if ('error' in result) {
    metrics.commandsForwarded.inc({ outcome: 'refused' });
    throw new IncidentCommandError(result.error.code, result.error.message);
  }
  metrics.commandsForwarded.inc({ outcome: 'done' });
  return result.incident;
}

/** The answer of queued command `id`, asked for until `waitMs` has passed (undefined then). */
async function answerOf(
  commands: RuleCommandStore,
  id: string,
  waitMs: number,
): Promise<RuleCommandResult | undefined> {
  const end = performance.now() + waitMs;
  for (;;) {
    const r = await commands.result(id);
    if (r !== undefined || performance.now() >= end) return r;
    await new Promise((ok) => setTimeout(ok, Math.min(ANSWER_POLL_MS, end - performance.now())));
  }
}
