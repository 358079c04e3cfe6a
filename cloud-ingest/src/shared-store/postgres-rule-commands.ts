import type pg from 'pg';
import {
  RuleCommandGoneError,
  type RuleCommandResult,
  type RuleCommandRow,
  type RuleCommandStore,
  commandOfRow,
  rowOfCommand,
} from '../rules-runtime/rule-command-store.js';
import type { Query } from './postgres-query.js';

/**
 * Officers' incident commands in PostgreSQL (`store.kind: postgres`): the reverse proxy may send
 * an officer's acknowledgement to any host, but only the holder of the incident's village runs
 * its rules, so the host that got it queues it here for the holder and waits for the answer
 * (rules-runtime/rule-command-store.ts has the states and their meaning).
 */
export const RULE_COMMANDS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_rule_commands (
    id TEXT PRIMARY KEY, partition TEXT NOT NULL, incident TEXT NOT NULL, action TEXT NOT NULL,
    actor TEXT NOT NULL, doc JSONB NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    state TEXT NOT NULL, result JSONB);
  CREATE INDEX IF NOT EXISTS shared_rule_commands_pending
    ON shared_rule_commands (partition, created_at) WHERE state = 'pending';
`;

/**
 * Marks `ids` of `partition` accepted inside the fenced state write's transaction `c`
 * (postgres-shared-store.ts saveRulesState); throws RuleCommandGoneError when one is not pending
 * (cancelled by its sender, or carried out already), which rolls the whole write back.
 */
export async function acceptRuleCommandsPostgres(
  c: pg.PoolClient,
  partition: string,
  ids: readonly string[],
): Promise<void> {
  const r = await c.query(
    `UPDATE shared_rule_commands SET state = 'accepted'
      WHERE id = ANY($1::text[]) AND partition = $2 AND state = 'pending'`,
    [ids, partition],
  );
  if (r.rowCount !== new Set(ids).size)
    throw new RuleCommandGoneError(
      `rules commands ${ids.join(', ')} of partition ${partition}: not all still pending`,
    );
}

export function postgresRuleCommands(q: Query): RuleCommandStore {
  return {
    async send(cmd) {
      await q(
        `INSERT INTO shared_rule_commands (id, partition, incident, action, actor, doc, created_at, expires_at, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')`,
        [...rowOfCommand(cmd)],
      );
    },
    async pending(partitions, now, limit) {
      const rows = await q<RuleCommandRow>(
        `SELECT id, partition, incident, action, actor, doc, created_at, expires_at FROM shared_rule_commands
          WHERE state = 'pending' AND partition = ANY($1::text[]) AND expires_at > $2
          ORDER BY created_at, id LIMIT $3`,
        [partitions, now, limit],
      );
      return rows.map(commandOfRow);
    },
    async answer(id, result) {
      await q(
        `UPDATE shared_rule_commands SET state = 'done', result = $1
          WHERE id = $2 AND state IN ('pending', 'accepted')`,
        [JSON.stringify(result), id],
      );
    },
    async result(id) {
      const [r] = await q<{ result: RuleCommandResult | null }>(
        'SELECT result FROM shared_rule_commands WHERE id = $1',
        [id],
      );
      return r?.result ?? undefined;
    },
    async cancel(id) {
      const rows = await q(
        `UPDATE shared_rule_commands SET state = 'cancelled' WHERE id = $1 AND state = 'pending' RETURNING id`,
        [id],
      );
      return rows.length === 1;
    },
    async forget(id, before) {
      await q('DELETE FROM shared_rule_commands WHERE id = $1 OR created_at < $2', [id, before]);
    },
  };
}
