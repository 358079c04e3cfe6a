import type { Command, CommandResult, Value } from '@village/protocol';
import type { Db } from './open-database.js';

/** A command sent to an edge and what became of it. */
export interface CommandRow {
  id: string;
  edge: string;
  device: string;
  action: string;
  params: Record<string, Value>;
  /** Who sent it: the officer's username, or `anonymous` in lab mode (audit trail). */
  actor: string;
  createdAt: number;
  expiresAt: number;
  state: 'sent' | 'ok' | 'error';
  error: string | null;
  /** The edge's snake_case code for `error` (the driver's own, e.g. `command_rejected`). */
  errorCode: string | null;
  data: Record<string, Value> | null;
  completedAt: number | null;
}

export interface CommandStore {
  insert(edge: string, cmd: Command & { expiresAt: number }, actor: string, now: number): CommandRow;
  /** Applies a result from `up/cmd-result`; false when no command of that edge has this id. */
  complete(edge: string, result: CommandResult, now: number): boolean;
  get(id: string): CommandRow | undefined;
  /** Commands of an edge still waiting for a result and not yet expired, oldest first. */
  pending(edge: string, now: number): CommandRow[];
  /** Ends a command the cloud will not send (again) with an error; false when it was not waiting. */
  fail(id: string, error: string, now: number): boolean;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, edge TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL,
    params TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    state TEXT NOT NULL, error TEXT, data TEXT, completed_at INTEGER, actor TEXT NOT NULL DEFAULT ''
  );
`;

interface Raw {
  id: string;
  edge: string;
  device: string;
  action: string;
  params: string;
  actor: string;
  created_at: number;
  expires_at: number;
  state: CommandRow['state'];
  error: string | null;
  error_code: string | null;
  data: string | null;
  completed_at: number | null;
}

export function openCommandStore(db: Db): CommandStore {
  db.exec(SCHEMA);
  // cloud.db files made before commands had an actor: add the column (old rows read as '').
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(commands)').all();
  if (!columns.some((c) => c.name === 'actor'))
    db.exec("ALTER TABLE commands ADD COLUMN actor TEXT NOT NULL DEFAULT ''");
  // ... and before results carried the driver's error code.
  if (!columns.some((c) => c.name === 'error_code'))
    db.exec('ALTER TABLE commands ADD COLUMN error_code TEXT');
  const insert = db.prepare(
    "INSERT INTO commands (id, edge, device, action, params, actor, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent')",
  );
  const complete = db.prepare(
    "UPDATE commands SET state = ?, error = ?, error_code = ?, data = ?, completed_at = ? WHERE id = ? AND edge = ? AND state = 'sent'",
  );
  const get = db.prepare<[string], Raw>('SELECT * FROM commands WHERE id = ?');
  const pending = db.prepare<[string, number], Raw>(
    "SELECT * FROM commands WHERE edge = ? AND state = 'sent' AND expires_at > ? ORDER BY created_at",
  );
  const fail = db.prepare(
    "UPDATE commands SET state = 'error', error = ?, completed_at = ? WHERE id = ? AND state = 'sent'",
  );
  const toRow = (r: Raw): CommandRow => ({
    id: r.id,
    edge: r.edge,
    device: r.device,
    action: r.action,
    params: JSON.parse(r.params),
    actor: r.actor,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    state: r.state,
    error: r.error,
    errorCode: r.error_code ?? null,
    data: r.data === null ? null : JSON.parse(r.data),
    completedAt: r.completed_at,
  });
  return {
    insert(edge, cmd, actor, now) {
      insert.run(cmd.id, edge, cmd.device, cmd.action, JSON.stringify(cmd.params), actor, now, cmd.expiresAt);
      return toRow(get.get(cmd.id)!);
    },
    complete(edge, result, now) {
      const data = result.data === undefined ? null : JSON.stringify(result.data);
      return (
        complete.run(
          result.ok ? 'ok' : 'error',
          result.error ?? null,
          result.ok ? null : (result.code ?? null),
          data,
          now,
          result.id,
          edge,
        ).changes === 1
      );
    },
    get(id) {
      const r = get.get(id);
      return r && toRow(r);
    },
    pending: (edge, now) => pending.all(edge, now).map(toRow),
    fail: (id, error, now) => fail.run(error, now, id).changes === 1,
  };
}
