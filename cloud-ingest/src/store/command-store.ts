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

/**
 * Where commands and their results are kept: this cloud's SQLite (`openCommandStore`), or, with
 * `store.kind: postgres`, PostgreSQL (shared-store/postgres-commands.ts), so a result that reaches
 * any host completes the command another host sent. Async for the second; both pass
 * test/command-store-suite.ts.
 */
export interface CommandStore {
  insert(edge: string, cmd: Command & { expiresAt: number }, actor: string, now: number): Promise<CommandRow>;
  /** Applies a result from `up/cmd-result`; false when no command of that edge has this id, or it has a result. */
  complete(edge: string, result: CommandResult, now: number): Promise<boolean>;
  get(id: string): Promise<CommandRow | undefined>;
  /** Commands of an edge still waiting for a result and not yet expired, oldest first. */
  pending(edge: string, now: number): Promise<CommandRow[]>;
  /** Ends a command the cloud will not send (again) with an error; false when it was not waiting. */
  fail(id: string, error: string, now: number): Promise<boolean>;
}

/** A stored command's columns, as both stores keep them (snake_case, params and data as JSON text). */
export interface CommandColumns {
  id: string;
  edge: string;
  device: string;
  action: string;
  params: string;
  actor: string;
  created_at: number | string;
  expires_at: number | string;
  state: CommandRow['state'];
  error: string | null;
  error_code: string | null;
  data: string | null;
  completed_at: number | string | null;
}

/** A row of either store as the API shows it (PostgreSQL's BIGINTs come as strings). */
export const commandRowOf = (r: CommandColumns): CommandRow => ({
  id: r.id,
  edge: r.edge,
  device: r.device,
  action: r.action,
  params: JSON.parse(r.params),
  actor: r.actor,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  state: r.state,
  error: r.error,
  errorCode: r.error_code ?? null,
  data: r.data === null ? null : JSON.parse(r.data),
  completedAt: r.completed_at === null ? null : Number(r.completed_at),
});

/** The columns `complete` writes for a result: state, error, error code, data. */
export const resultColumns = (result: CommandResult) =>
  [
    result.ok ? 'ok' : 'error',
    result.error ?? null,
    result.ok ? null : (result.code ?? null),
    result.data === undefined ? null : JSON.stringify(result.data),
  ] as const;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, edge TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL,
    params TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    state TEXT NOT NULL, error TEXT, data TEXT, completed_at INTEGER, actor TEXT NOT NULL DEFAULT '',
    error_code TEXT
  );
`;

export function openCommandStore(db: Db): CommandStore {
  db.exec(SCHEMA);
  // cloud.db files made before commands had an actor (old rows read as ''), or before results
  // carried the driver's error code: add the column. Several workers opening one cloud.db at once
  // may all see it missing; the ones that lose the race find it added.
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(commands)').all();
  const addColumn = (name: string, ddl: string) => {
    if (columns.some((c) => c.name === name)) return;
    try {
      db.exec(`ALTER TABLE commands ADD COLUMN ${ddl}`);
    } catch (err) {
      if (!/duplicate column name/i.test((err as Error).message)) throw err;
    }
  };
  addColumn('actor', "actor TEXT NOT NULL DEFAULT ''");
  addColumn('error_code', 'error_code TEXT');
  const insert = db.prepare(
    "INSERT INTO commands (id, edge, device, action, params, actor, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent')",
  );
  const complete = db.prepare(
    "UPDATE commands SET state = ?, error = ?, error_code = ?, data = ?, completed_at = ? WHERE id = ? AND edge = ? AND state = 'sent'",
  );
  const get = db.prepare<[string], CommandColumns>('SELECT * FROM commands WHERE id = ?');
  const pending = db.prepare<[string, number], CommandColumns>(
    "SELECT * FROM commands WHERE edge = ? AND state = 'sent' AND expires_at > ? ORDER BY created_at",
  );
  const fail = db.prepare(
    "UPDATE commands SET state = 'error', error = ?, completed_at = ? WHERE id = ? AND state = 'sent'",
  );
  return {
    async insert(edge, cmd, actor, now) {
      insert.run(cmd.id, edge, cmd.device, cmd.action, JSON.stringify(cmd.params), actor, now, cmd.expiresAt);
      return commandRowOf(get.get(cmd.id)!);
    },
    async complete(edge, result, now) {
      return complete.run(...resultColumns(result), now, result.id, edge).changes === 1;
    },
    async get(id) {
      const r = get.get(id);
      return r && commandRowOf(r);
    },
    pending: async (edge, now) => pending.all(edge, now).map(commandRowOf),
    fail: async (id, error, now) => fail.run(error, now, id).changes === 1,
  };
}
