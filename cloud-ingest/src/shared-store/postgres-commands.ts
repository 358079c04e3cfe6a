import {
  type CommandColumns,
  type CommandStore,
  commandRowOf,
  resultColumns,
} from '../store/command-store.js';
import type { Query } from './postgres-query.js';

/**
 * Commands in PostgreSQL (`store.kind: postgres`): the host whose API sent a command and the host
 * the edge's result reaches (the shared subscription picks one) are rarely the same, so the
 * commands live where every host sees them. The same columns as cloud.db's `commands`.
 */
export const COMMANDS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_commands (
    id TEXT PRIMARY KEY, edge TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL,
    params TEXT NOT NULL, actor TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    state TEXT NOT NULL, error TEXT, error_code TEXT, data TEXT, completed_at BIGINT);
  CREATE INDEX IF NOT EXISTS shared_commands_waiting ON shared_commands (edge, created_at) WHERE state = 'sent';
`;

export function postgresCommands(q: Query): CommandStore {
  return {
    async insert(edge, cmd, actor, now) {
      const [row] = await q<CommandColumns>(
        `INSERT INTO shared_commands (id, edge, device, action, params, actor, created_at, expires_at, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent') RETURNING *`,
        [cmd.id, edge, cmd.device, cmd.action, JSON.stringify(cmd.params), actor, now, cmd.expiresAt],
      );
      return commandRowOf(row!);
    },
    async complete(edge, result, now) {
      const rows = await q(
        `UPDATE shared_commands SET state = $1, error = $2, error_code = $3, data = $4, completed_at = $5
          WHERE id = $6 AND edge = $7 AND state = 'sent' RETURNING id`,
        [...resultColumns(result), now, result.id, edge],
      );
      return rows.length === 1;
    },
    async get(id) {
      const [row] = await q<CommandColumns>('SELECT * FROM shared_commands WHERE id = $1', [id]);
      return row && commandRowOf(row);
    },
    async pending(edge, now) {
      const rows = await q<CommandColumns>(
        `SELECT * FROM shared_commands WHERE edge = $1 AND state = 'sent' AND expires_at > $2
          ORDER BY created_at, id`,
        [edge, now],
      );
      return rows.map(commandRowOf);
    },
    async fail(id, error, now) {
      const rows = await q(
        `UPDATE shared_commands SET state = 'error', error = $1, completed_at = $2
          WHERE id = $3 AND state = 'sent' RETURNING id`,
        [error, now, id],
      );
      return rows.length === 1;
    },
  };
}
