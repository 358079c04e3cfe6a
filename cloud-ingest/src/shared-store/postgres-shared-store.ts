import pg from 'pg';
import type { Logger } from 'pino';
import type { EpochChange } from '../store/seq-state.js';
import { HOST_BEATS_SCHEMA } from './host-beats.js';
import { AIR_QUALITY_SCHEMA, postgresAqi, postgresQuality } from './postgres-air-quality.js';
import { COMMANDS_SCHEMA, postgresCommands } from './postgres-commands.js';
import { DEAD_LETTERS_SCHEMA, postgresDeadLetters } from './postgres-dead-letters.js';
import { DELIVERIES_SCHEMA, postgresDeliveries } from './postgres-deliveries.js';
import { DEVICE_OWNERS_SCHEMA, postgresDeviceOwners } from './postgres-device-owners.js';
import { postgresHostBeats } from './postgres-host-beats.js';
import { REGISTRY_SCHEMA, postgresRegistry } from './postgres-registry.js';
import {
  RULE_COMMANDS_SCHEMA,
  acceptRuleCommandsPostgres,
  postgresRuleCommands,
} from './postgres-rule-commands.js';
import { RULE_VIEWS_SCHEMA, postgresRuleViews } from './postgres-rule-views.js';
import { SERIES_CATALOG_SCHEMA, postgresSeriesCatalog } from './postgres-series-catalog.js';
import { SESSIONS_SCHEMA, postgresApiTokens, postgresSessions } from './postgres-sessions.js';
import { SharedStoreError, redactUrl } from './shared-store-error.js';
import {
  type CommitItem,
  type Deadline,
  type JournalRow,
  type Lease,
  LeaseLostError,
  type SavedRulesState,
  type SeqSnapshot,
  type SharedStore,
} from './shared-store.js';

export interface PostgresSharedStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections of the one Pool (default 10). */
  poolSize?: number;
  /**
   * Longest a statement may run, lock waits included (the server cancels it; default 30 s). A
   * server that does not answer at all fails the call this plus 2 s after it was sent.
   */
  queryTimeoutMs?: number;
  /**
   * A host frozen inside a transaction (SIGSTOP, a fire that never settles) holds its row locks
   * this long before the server ends its session (default 10 s): other hosts' commits of the same
   * edges wait at most that, and its claimed deadlines fire elsewhere then. `fire` must finish
   * well within it.
   */
  idleInTransactionMs?: number;
  log?: Logger;
}

/**
 * The schema, created at open. Same tables and meaning as the SQLite implementation
 * (sqlite-shared-store.ts, store/seq-state.ts): an edge's streams are ordered by `opened` (the
 * highest is the epoch it sends under now; here from a sequence, so two hosts opening streams at
 * once never take the same number). The journal's positions come from the per-partition counter
 * row in shared_journal_head, updated in the transaction that appends: that row lock orders the
 * appenders, so positions are gapless and become visible in position order.
 */
const SCHEMA = `
  CREATE SEQUENCE IF NOT EXISTS edge_seq_opened;
  CREATE TABLE IF NOT EXISTS edge_seq_state (
    edge TEXT NOT NULL, epoch TEXT NOT NULL, high_water BIGINT NOT NULL, opened BIGINT NOT NULL,
    PRIMARY KEY (edge, epoch));
  CREATE TABLE IF NOT EXISTS edge_seq_above (
    edge TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    PRIMARY KEY (edge, epoch, seq));
  CREATE TABLE IF NOT EXISTS shared_journal_head (
    partition TEXT PRIMARY KEY, last_position BIGINT NOT NULL);
  CREATE TABLE IF NOT EXISTS shared_journal (
    partition TEXT NOT NULL, position BIGINT NOT NULL, edge TEXT NOT NULL, seq BIGINT NOT NULL,
    received_at BIGINT NOT NULL, batch BYTEA NOT NULL,
    PRIMARY KEY (partition, position));
  CREATE TABLE IF NOT EXISTS shared_leases (
    partition TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expires_at BIGINT NOT NULL);
  CREATE TABLE IF NOT EXISTS shared_rules_state (
    partition TEXT PRIMARY KEY, cursor BIGINT NOT NULL, state BYTEA NOT NULL);
  CREATE TABLE IF NOT EXISTS shared_deadlines (
    key TEXT PRIMARY KEY, partition TEXT NOT NULL, due_at BIGINT NOT NULL, payload JSONB NOT NULL);
  CREATE INDEX IF NOT EXISTS shared_deadlines_due ON shared_deadlines (due_at);
`;

/** Key of the transaction-level advisory lock around the DDL: CREATE ... IF NOT EXISTS races otherwise. */
const SCHEMA_LOCK = 7_307_202_601;
/** Serialization failure and deadlock: the transaction is rolled back, running it again is safe. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 5;

/** Errors that mean "no working connection right now", not "this statement is wrong". */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN'].includes(
      code,
    )
  )
    return true;
  // 08: connection exception; 57P01-03: admin/crash shutdown, starting up.
  if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  return (
    typeof e.message === 'string' &&
    /Connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout|Query read timeout/i.test(
      e.message,
    )
  );
}

/** 28xxx: authentication; 3D000: no such database; 42501: no privilege. */
const isRefusal = (err: unknown) => /^(28|3D000|42501)/.test(String((err as { code?: unknown }).code ?? ''));

const num = (v: string | number) => Number(v);
const streamKey = (edge: string, epoch: string) => `${edge}\u0000${epoch}`;

export async function openPostgresSharedStore({
  url,
  poolSize = 10,
  queryTimeoutMs = 30_000,
  idleInTransactionMs = 10_000,
  log,
}: PostgresSharedStoreOptions): Promise<SharedStore> {
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SharedStoreError(
      'bad_url',
      `store url ${shown}: not a url (expected postgres://user:password@host:port/database)`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SharedStoreError('bad_url', `store url ${shown}: scheme ${parsed.protocol} is not postgres:`);
  }
  if (parsed.hostname === '' || parsed.pathname.length <= 1) {
    throw new SharedStoreError(
      'bad_url',
      `store url ${shown}: needs a host and a database (postgres://host:port/database)`,
    );
  }

  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // While the server is down or hung a call fails within these bounds, rather than waiting.
    connectionTimeoutMillis: Math.min(5_000, queryTimeoutMs),
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 2_000,
    keepAlive: true,
    idle_in_transaction_session_timeout: idleInTransactionMs,
    application_name: 'village-cloud',
  });
  // An idle connection the server dropped (restart, failover): without a listener pg would crash the process.
  pool.on('error', (err) =>
    log?.warn({ err: err.message, store: shown }, 'shared store: idle connection lost'),
  );

  /** A failure of the server or the network as a typed error; anything else as it came. */
  function typed(err: unknown): unknown {
    if (err instanceof SharedStoreError || err instanceof LeaseLostError) return err;
    const message = (err as Error).message ?? String(err);
    if (isConnectionError(err)) {
      return new SharedStoreError('unreachable', `PostgreSQL at ${shown} unreachable: ${message}`, {
        cause: err,
      });
    }
    if (isRefusal(err)) {
      return new SharedStoreError('refused', `PostgreSQL at ${shown} refused: ${message}`, { cause: err });
    }
    return err;
  }

  /**
   * Runs `work` in one transaction on one pooled connection; runs it again, on a fresh
   * transaction, after a serialization failure or a deadlock (each attempt starts over, so `work`
   * must not keep state between attempts). A connection that failed is destroyed, not reused.
   */
  async function tx<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw typed(err);
      }
      let broken: Error | undefined;
      // A checked-out client whose connection drops emits 'error' (the pool listens only to idle
      // ones): unheard, that would crash the process; the failing query rejects as well.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionError(err)) {
          broken = err as Error; // no ROLLBACK on a connection that failed: it would wait too
        } else {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            broken = rollbackErr as Error;
          }
        }
        const code = String((err as { code?: unknown }).code ?? '');
        if (RETRYABLE.has(code) && attempt < ATTEMPTS) {
          log?.info({ code, attempt, store: shown }, 'shared store: transaction retried');
          continue;
        }
        if (isConnectionError(err))
          log?.warn({ err: (err as Error).message, store: shown }, 'shared store unreachable');
        throw typed(err);
      } finally {
        client.off('error', onError);
        if (broken) client.on('error', () => {}); // a dropped connection may report again while it closes
        client.release(broken);
      }
    }
  }

  /** One statement outside a transaction. */
  async function q<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (err) {
      if (isConnectionError(err))
        log?.warn({ err: (err as Error).message, store: shown }, 'shared store unreachable');
      throw typed(err);
    }
  }

  try {
    await tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(SCHEMA);
      await c.query(COMMANDS_SCHEMA);
      await c.query(DEVICE_OWNERS_SCHEMA);
      await c.query(SESSIONS_SCHEMA);
      await c.query(SERIES_CATALOG_SCHEMA);
      await c.query(REGISTRY_SCHEMA);
      await c.query(DEAD_LETTERS_SCHEMA);
      await c.query(RULE_VIEWS_SCHEMA);
      await c.query(AIR_QUALITY_SCHEMA);
      await c.query(HOST_BEATS_SCHEMA);
      await c.query(RULE_COMMANDS_SCHEMA);
      await c.query(DELIVERIES_SCHEMA);
    });
  } catch (err) {
    await pool.end().catch(() => {});
    throw typed(err);
  }
  log?.info({ store: shown }, 'shared store: PostgreSQL schema ready');

  async function highOf(edge: string, epoch: string): Promise<number | undefined> {
    const rows = await q<{ high_water: string }>(
      'SELECT high_water FROM edge_seq_state WHERE edge = $1 AND epoch = $2',
      [edge, epoch],
    );
    return rows[0] === undefined ? undefined : num(rows[0].high_water);
  }

  return {
    kind: 'postgres',
    commands: postgresCommands(q),
    deviceOwners: postgresDeviceOwners(q),
    sessions: postgresSessions(q),
    apiTokens: postgresApiTokens(q),
    seriesCatalog: postgresSeriesCatalog(q),
    registry: postgresRegistry(q, tx),
    deadLetters: postgresDeadLetters(q),
    ruleViews: postgresRuleViews(q),
    quality: postgresQuality(q, tx),
    aqi: postgresAqi(q, tx),
    hostBeats: postgresHostBeats(q),
    ruleCommands: postgresRuleCommands(q),
    deliveries: postgresDeliveries(q),

    async isCommitted(edge, epoch, seq) {
      const rows = await q<{ committed: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM edge_seq_state WHERE edge = $1 AND epoch = $2 AND high_water >= $3)
             OR EXISTS (SELECT 1 FROM edge_seq_above WHERE edge = $1 AND epoch = $2 AND seq = $3) AS committed`,
        [edge, epoch, seq],
      );
      return rows[0]!.committed;
    },

    async committedAmong(keys) {
      if (keys.length === 0) return [];
      const rows = await q<{ committed: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM edge_seq_state s WHERE s.edge = u.edge AND s.epoch = u.epoch AND s.high_water >= u.seq)
             OR EXISTS (SELECT 1 FROM edge_seq_above a WHERE a.edge = u.edge AND a.epoch = u.epoch AND a.seq = u.seq) AS committed
           FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(edge, epoch, seq, i)
          ORDER BY u.i`,
        [keys.map((k) => k.edge), keys.map((k) => k.epoch), keys.map((k) => k.seq)],
      );
      return rows.map((r) => r.committed);
    },

    async snapshot(edge, epoch): Promise<SeqSnapshot> {
      // One statement, one snapshot: H and the seqs above it agree.
      const rows = await q<{ high_water: string | null; above: string[] | null }>(
        `SELECT (SELECT high_water FROM edge_seq_state WHERE edge = $1 AND epoch = $2) AS high_water,
                (SELECT array_agg(seq ORDER BY seq) FROM edge_seq_above WHERE edge = $1 AND epoch = $2) AS above`,
        [edge, epoch],
      );
      const r = rows[0]!;
      const highWater = r.high_water === null ? 0 : num(r.high_water);
      return { highWater, above: (r.above ?? []).map(num).filter((s) => s > highWater) };
    },

    async epochChange(edge, epoch): Promise<EpochChange | undefined> {
      const rows = await q<{ epoch: string; high_water: string; known: boolean }>(
        `SELECT epoch, high_water,
                EXISTS (SELECT 1 FROM edge_seq_state WHERE edge = $1 AND epoch = $2) AS known
           FROM edge_seq_state WHERE edge = $1 ORDER BY opened DESC LIMIT 1`,
        [edge, epoch],
      );
      const newest = rows[0];
      if (newest === undefined || newest.epoch === epoch) return undefined;
      if (newest.known) return undefined; // a late resend of an older epoch
      return { oldEpoch: newest.epoch, oldHighWater: num(newest.high_water) };
    },

    async recordCommits(items: readonly CommitItem[]) {
      if (items.length === 0) return [];
      const keys = new Map<string, { edge: string; epoch: string }>();
      for (const it of items) keys.set(streamKey(it.edge, it.epoch), { edge: it.edge, epoch: it.epoch });
      const edges = [...keys.values()].map((k) => k.edge);
      const epochs = [...keys.values()].map((k) => k.epoch);
      return tx(async (c) => {
        // Streams are created and locked in one fixed order (byte order of edge, epoch) by every
        // host, so two groups with streams in common wait for each other instead of deadlocking.
        await c.query(
          `INSERT INTO edge_seq_state (edge, epoch, high_water, opened)
           SELECT u.edge, u.epoch, 0, nextval('edge_seq_opened')
             FROM unnest($1::text[], $2::text[]) AS u(edge, epoch)
            WHERE NOT EXISTS (SELECT 1 FROM edge_seq_state s WHERE s.edge = u.edge AND s.epoch = u.epoch)
            ORDER BY u.edge COLLATE "C", u.epoch COLLATE "C"
           ON CONFLICT (edge, epoch) DO NOTHING`,
          [edges, epochs],
        );
        const locked = await c.query<{ edge: string; epoch: string; high_water: string }>(
          `SELECT s.edge, s.epoch, s.high_water FROM edge_seq_state s
             JOIN unnest($1::text[], $2::text[]) AS u(edge, epoch) ON s.edge = u.edge AND s.epoch = u.epoch
            ORDER BY s.edge COLLATE "C", s.epoch COLLATE "C"
            FOR UPDATE OF s`,
          [edges, epochs],
        );
        // Read after the locks: every other writer of these streams has committed or waits.
        const aboveRows = await c.query<{ edge: string; epoch: string; seq: string }>(
          `SELECT a.edge, a.epoch, a.seq FROM edge_seq_above a
             JOIN unnest($1::text[], $2::text[]) AS u(edge, epoch) ON a.edge = u.edge AND a.epoch = u.epoch`,
          [edges, epochs],
        );
        const streams = new Map<
          string,
          {
            edge: string;
            epoch: string;
            high: number;
            startHigh: number;
            above: Set<number>;
            added: Set<number>;
          }
        >();
        for (const r of locked.rows) {
          const high = num(r.high_water);
          streams.set(streamKey(r.edge, r.epoch), {
            edge: r.edge,
            epoch: r.epoch,
            high,
            startHigh: high,
            above: new Set(),
            added: new Set(),
          });
        }
        for (const r of aboveRows.rows) streams.get(streamKey(r.edge, r.epoch))!.above.add(num(r.seq));

        const fresh: CommitItem[] = [];
        const result = items.map((it) => {
          const s = streams.get(streamKey(it.edge, it.epoch))!;
          if (it.seq <= s.high || s.above.has(it.seq)) return false;
          s.above.add(it.seq);
          s.added.add(it.seq);
          while (s.above.has(s.high + 1)) {
            s.high++;
            s.above.delete(s.high);
            s.added.delete(s.high);
          }
          fresh.push(it);
          return true;
        });
        if (fresh.length === 0) return result;

        const moved = [...streams.values()].filter((s) => s.high !== s.startHigh);
        if (moved.length > 0) {
          await c.query(
            `UPDATE edge_seq_state s SET high_water = u.high
               FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(edge, epoch, high)
              WHERE s.edge = u.edge AND s.epoch = u.epoch`,
            [moved.map((s) => s.edge), moved.map((s) => s.epoch), moved.map((s) => s.high)],
          );
          await c.query(
            `DELETE FROM edge_seq_above a USING unnest($1::text[], $2::text[], $3::int8[]) AS u(edge, epoch, high)
              WHERE a.edge = u.edge AND a.epoch = u.epoch AND a.seq <= u.high`,
            [moved.map((s) => s.edge), moved.map((s) => s.epoch), moved.map((s) => s.high)],
          );
        }
        const added = [...streams.values()].flatMap((s) => [...s.added].map((seq) => ({ s, seq })));
        if (added.length > 0) {
          await c.query(
            `INSERT INTO edge_seq_above (edge, epoch, seq)
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])`,
            [added.map((a) => a.s.edge), added.map((a) => a.s.epoch), added.map((a) => a.seq)],
          );
        }

        // The journal: each partition's counter row moves by its count of new batches; its row
        // lock, held to commit, makes the next appender of that partition wait for this one.
        const perPartition = new Map<string, CommitItem[]>();
        for (const it of fresh) {
          const list = perPartition.get(it.partition);
          if (list === undefined) perPartition.set(it.partition, [it]);
          else list.push(it);
        }
        const parts = [...perPartition.keys()];
        const heads = await c.query<{ partition: string; last_position: string }>(
          `INSERT INTO shared_journal_head AS h (partition, last_position)
           SELECT * FROM unnest($1::text[], $2::int8[]) AS u(partition, n) ORDER BY u.partition COLLATE "C"
           ON CONFLICT (partition) DO UPDATE SET last_position = h.last_position + EXCLUDED.last_position
           RETURNING partition, last_position`,
          [parts, parts.map((p) => perPartition.get(p)!.length)],
        );
        const rows: { it: CommitItem; position: number }[] = [];
        for (const h of heads.rows) {
          const list = perPartition.get(h.partition)!;
          const first = num(h.last_position) - list.length + 1;
          list.forEach((it, i) => rows.push({ it, position: first + i }));
        }
        await c.query(
          `INSERT INTO shared_journal (partition, position, edge, seq, received_at, batch)
           SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::bytea[])`,
          [
            rows.map((r) => r.it.partition),
            rows.map((r) => r.position),
            rows.map((r) => r.it.edge),
            rows.map((r) => r.it.seq),
            rows.map((r) => r.it.receivedAt),
            rows.map((r) => r.it.batch),
          ],
        );
        return result;
      });
    },

    async readJournal(partition, afterPosition, limit): Promise<JournalRow[]> {
      const rows = await q<{
        position: string;
        edge: string;
        seq: string;
        received_at: string;
        batch: Buffer;
      }>(
        `SELECT position, edge, seq, received_at, batch FROM shared_journal
          WHERE partition = $1 AND position > $2 ORDER BY position LIMIT $3`,
        [partition, afterPosition, limit],
      );
      return rows.map((r) => ({
        partition,
        position: num(r.position),
        edge: r.edge,
        seq: num(r.seq),
        receivedAt: num(r.received_at),
        batch: new Uint8Array(r.batch),
      }));
    },

    async partitions() {
      const rows = await q<{ partition: string }>(
        `SELECT partition FROM shared_journal_head UNION SELECT partition FROM shared_leases
          ORDER BY 1`,
      );
      return rows.map((r) => r.partition);
    },

    async acquireLease(partition, holder, ttlMs, now): Promise<Lease | undefined> {
      // One upsert under the row's lock: renew our live lease (same epoch), take a free or expired
      // one (epoch + 1), or change nothing while another holder's lease runs.
      const rows = await q<{ holder: string; epoch: string; expires_at: string }>(
        `INSERT INTO shared_leases AS l (partition, holder, epoch, expires_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (partition) DO UPDATE
           SET epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > $4 THEN l.epoch ELSE l.epoch + 1 END,
               holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
           WHERE (l.holder = EXCLUDED.holder AND l.expires_at > $4) OR l.expires_at <= $4
         RETURNING holder, epoch, expires_at`,
        [partition, holder, now + ttlMs, now],
      );
      const r = rows[0];
      return r === undefined
        ? undefined
        : { partition, holder: r.holder, epoch: num(r.epoch), expiresAt: num(r.expires_at) };
    },

    async releaseLease(partition, holder, epoch) {
      // Kept with its epoch (expired now), so the next holder's epoch is still higher.
      await q('UPDATE shared_leases SET expires_at = 0 WHERE partition = $1 AND holder = $2 AND epoch = $3', [
        partition,
        holder,
        epoch,
      ]);
    },

    async saveRulesState(partition, epoch, saved: SavedRulesState) {
      await tx(async (c) => {
        const lease = await c.query<{ epoch: string }>(
          'SELECT epoch FROM shared_leases WHERE partition = $1 FOR UPDATE',
          [partition],
        );
        const current = lease.rows[0] === undefined ? undefined : num(lease.rows[0].epoch);
        if (current !== epoch) {
          throw new LeaseLostError(
            `rules partition ${partition}: lease epoch ${epoch} is no longer current (now ${current ?? 'none'})`,
          );
        }
        if (saved.commands?.length) await acceptRuleCommandsPostgres(c, partition, saved.commands);
        await c.query(
          `INSERT INTO shared_rules_state (partition, cursor, state) VALUES ($1, $2, $3)
           ON CONFLICT (partition) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state`,
          [partition, saved.cursor, saved.state],
        );
        await c.query('DELETE FROM shared_journal WHERE partition = $1 AND position <= $2', [
          partition,
          saved.cursor,
        ]);
      });
    },

    async loadRulesState(partition) {
      const rows = await q<{ cursor: string; state: Buffer }>(
        'SELECT cursor, state FROM shared_rules_state WHERE partition = $1',
        [partition],
      );
      const r = rows[0];
      return r === undefined ? undefined : { cursor: num(r.cursor), state: new Uint8Array(r.state) };
    },

    async scheduleDeadline(d: Deadline) {
      await q(
        `INSERT INTO shared_deadlines (key, partition, due_at, payload) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET partition = EXCLUDED.partition, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload`,
        [d.key, d.partition, d.dueAt, JSON.stringify(d.payload ?? null)],
      );
    },

    async cancelDeadline(key) {
      await q('DELETE FROM shared_deadlines WHERE key = $1', [key]);
    },

    async fireDue(now, limit, fire) {
      return tx(async (c) => {
        // Rows another host is firing are locked by its transaction: skipped, never waited on.
        const due = await c.query<{ key: string; partition: string; due_at: string; payload: unknown }>(
          `SELECT key, partition, due_at, payload FROM shared_deadlines
            WHERE due_at <= $1 ORDER BY due_at, key LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit],
        );
        const fired: string[] = [];
        for (const r of due.rows) {
          try {
            await fire({ key: r.key, partition: r.partition, dueAt: num(r.due_at), payload: r.payload });
            fired.push(r.key);
          } catch (err) {
            log?.warn(
              { key: r.key, err: (err as Error).message },
              'shared store: deadline fire failed, kept for the next round',
            );
          }
        }
        if (fired.length > 0)
          await c.query('DELETE FROM shared_deadlines WHERE key = ANY($1::text[])', [fired]);
        return fired.length;
      });
    },

    async close() {
      await pool.end();
    },
  };
}
