import type { IncidentClosing } from '@village/rules';
import type { Db } from '../store/open-database.js';
import type { IncidentView } from './incident-view.js';

/** An officer's incident command (http/incident-routes.ts), as any host may have received it. */
export interface IncidentCommand {
  incident: string;
  action: 'acknowledge' | 'arrive' | 'resolve';
  actor: string;
  /** acknowledge: the officer's note, if any. */
  note?: string;
  /** resolve: the outcome and note. */
  closing?: IncidentClosing;
}

/** A command queued for the holder of its incident's partition. */
export interface QueuedRuleCommand extends IncidentCommand {
  /** Unique (a UUID): the holder carries a command out once per id. */
  id: string;
  partition: string;
  /** ms epoch, in the sending host's clock. */
  createdAt: number;
  /** ms epoch: the holder takes no command after this (its sender stopped waiting for it). */
  expiresAt: number;
}

/** What the holder answered: the incident as the command left it, or the typed refusal (incident-command-error.ts). */
export type RuleCommandResult = { incident: IncidentView } | { error: { code: string; message: string } };

/**
 * A queued command's acceptance found it no longer pending (its sender cancelled it, or another
 * holder carried it out): the state write that carries it is refused whole, so it never runs.
 */
export class RuleCommandGoneError extends Error {
  override readonly name = 'RuleCommandGoneError';
  readonly code = 'rule_command_gone';
}

/**
 * Officers' incident commands across hosts (docs/rules-across-hosts.md "Commands on any host"): a
 * host that does not hold an incident's partition queues the command here and waits for its
 * result; the holder takes its partitions' pending commands, carries each out like its own, and
 * answers it. A row goes `pending` → `accepted` (in the holder's fenced state write that carries
 * it out: SavedRulesState.commands) → `done`; a refusal goes `pending` → `done`; a sender that
 * stopped waiting moves it `pending` → `cancelled`. Each move is conditional on the state before,
 * so a command is carried out at most once and never after its sender gave up on it.
 */
export interface RuleCommandStore {
  send(cmd: QueuedRuleCommand): Promise<void>;
  /** The pending commands of `partitions` not expired at `now`, oldest first, at most `limit`. */
  pending(partitions: readonly string[], now: number, limit: number): Promise<QueuedRuleCommand[]>;
  /** Writes the holder's answer of a pending or accepted command (not of a cancelled one). */
  answer(id: string, result: RuleCommandResult): Promise<void>;
  /** The answer, once written. */
  result(id: string): Promise<RuleCommandResult | undefined>;
  /**
   * Cancels a pending command: true when it was still pending (now it never runs), false when the
   * holder had accepted or answered it already (its answer is or will be written).
   */
  cancel(id: string): Promise<boolean>;
  /** Deletes a command (its sender read the answer), and the commands created before `before` (any state). */
  forget(id: string, before: number): Promise<void>;
}

/** The row as both stores keep it (`doc`: the command's fields beyond the columns, as JSON). */
export interface RuleCommandRow {
  id: string;
  partition: string;
  incident: string;
  action: string;
  actor: string;
  doc: string | Record<string, unknown>;
  created_at: string | number;
  expires_at: string | number;
}

export const rowOfCommand = (c: QueuedRuleCommand) =>
  [
    c.id,
    c.partition,
    c.incident,
    c.action,
    c.actor,
    JSON.stringify({ note: c.note, closing: c.closing }),
    c.createdAt,
    c.expiresAt,
  ] as const;

export function commandOfRow(r: RuleCommandRow): QueuedRuleCommand {
  const doc = (typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc) as {
    note?: string;
    closing?: IncidentClosing;
  };
  return {
    id: r.id,
    partition: r.partition,
    incident: r.incident,
    action: r.action as IncidentCommand['action'],
    actor: r.actor,
    ...(doc.note === undefined ? {} : { note: doc.note }),
    ...(doc.closing === undefined ? {} : { closing: doc.closing }),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

const SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_rule_commands (
    id TEXT PRIMARY KEY, partition TEXT NOT NULL, incident TEXT NOT NULL, action TEXT NOT NULL,
    actor TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    state TEXT NOT NULL, result TEXT) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS shared_rule_commands_pending
    ON shared_rule_commands (partition, created_at) WHERE state = 'pending';
`;

/**
 * Marks `ids` of `partition` accepted, inside the SQLite SharedStore's fenced state write (its
 * transaction); throws RuleCommandGoneError when one is not pending, which rolls the write back.
 */
export function acceptRuleCommandsSqlite(db: Db, partition: string, ids: readonly string[]): void {
  const accept = db.prepare<[string, string]>(
    "UPDATE shared_rule_commands SET state = 'accepted' WHERE id = ? AND partition = ? AND state = 'pending'",
  );
  for (const id of ids) {
    if (accept.run(id, partition).changes !== 1)
      throw new RuleCommandGoneError(`rules command ${id} of partition ${partition} is no longer pending`);
  }
}

/**
 * The queue in cloud.db tables: the SQLite SharedStore's (one host, several workers on one file,
 * and the suite), with the same meaning as PostgreSQL's (shared-store/postgres-rule-commands.ts).
 */
export function openRuleCommandStore(db: Db): RuleCommandStore {
  db.exec(SQLITE_SCHEMA);
  const insert = db.prepare(
    `INSERT INTO shared_rule_commands (id, partition, incident, action, actor, doc, created_at, expires_at, state)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
  );
  const selectPending = db.prepare<[string, number, number], RuleCommandRow>(
    `SELECT id, partition, incident, action, actor, doc, created_at, expires_at FROM shared_rule_commands
      WHERE state = 'pending' AND partition IN (SELECT value FROM json_each(?)) AND expires_at > ?
      ORDER BY created_at, id LIMIT ?`,
  );
  const answer = db.prepare<[string, string]>(
    "UPDATE shared_rule_commands SET state = 'done', result = ? WHERE id = ? AND state IN ('pending', 'accepted')",
  );
  const selectResult = db.prepare<[string], { result: string | null }>(
    'SELECT result FROM shared_rule_commands WHERE id = ?',
  );
  const cancel = db.prepare<[string]>(
    "UPDATE shared_rule_commands SET state = 'cancelled' WHERE id = ? AND state = 'pending'",
  );
  const forget = db.prepare<[string, number]>(
    'DELETE FROM shared_rule_commands WHERE id = ? OR created_at < ?',
  );
  return {
    async send(cmd) {
      insert.run(...rowOfCommand(cmd));
    },
    async pending(partitions, now, limit) {
      return selectPending.all(JSON.stringify(partitions), now, limit).map(commandOfRow);
    },
    async answer(id, result) {
      answer.run(JSON.stringify(result), id);
    },
    async result(id) {
      const r = selectResult.get(id)?.result;
      return r ? (JSON.parse(r) as RuleCommandResult) : undefined;
    },
    async cancel(id) {
      return cancel.run(id).changes === 1;
    },
    async forget(id, before) {
      forget.run(id, before);
    },
  };
}
