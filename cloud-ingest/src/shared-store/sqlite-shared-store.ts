import { randomUUID } from 'node:crypto';
import { openApiTokenStore } from '../auth/api-token-store.js';
import { openSessionStore } from '../auth/session-store.js';
import { openDeliveryLogStore } from '../notify/shared-delivery-log.js';
import { openAqiStore } from '../rules-runtime/aqi-store.js';
import { openQualityStore } from '../rules-runtime/quality-store.js';
import { acceptRuleCommandsSqlite, openRuleCommandStore } from '../rules-runtime/rule-command-store.js';
import { openRuleViewStore } from '../rules-runtime/rule-view-store.js';
import { openSeriesCatalog } from '../sink/influx-series-catalog.js';
import { openCommandStore } from '../store/command-store.js';
import { openDeadLetterStore } from '../store/dead-letter-store.js';
import { openDeviceOwnerStore } from '../store/device-owner-store.js';
import type { Db } from '../store/open-database.js';
import { epochChangeIn, seqStatements } from '../store/seq-state.js';
import { openSharedRegistryStore } from '../store/shared-registry-store.js';
import { createSharedSeqState } from '../store/shared-seq-state.js';
import { sqliteHostBeats } from './host-beats.js';
import {
  type CommitItem,
  type JournalRow,
  type Lease,
  LeaseLostError,
  type SavedRulesState,
  type SharedStore,
} from './shared-store.js';

/**
 * How long a claimed deadline stays another worker's, in the callers' clock (`now` of fireDue):
 * a worker that died while firing leaves its claim, and the deadline fires elsewhere after this.
 */
const CLAIM_TTL_MS = 60_000;

const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * The SharedStore on one SQLite file (store/open-database.ts), for one host whose workers each
 * open their own connection to it. The seq state is store/seq-state.ts's tables, recorded through
 * store/shared-seq-state.ts (no cache; its first statement takes the write lock), so a
 * single-host cloud's existing dedupe state keeps working. SQLite has one writer at a time, so a
 * counter row per partition gives gapless journal positions in commit order.
 *
 * Deadlines: better-sqlite3 cannot hold a transaction across `fire`'s awaits without every other
 * call on the connection joining it, so fireDue claims rows in one write transaction (a claim
 * token with an expiry), fires them outside it, then deletes the fired ones if still claimed by it
 * (a deadline rescheduled meanwhile loses its claim and survives the delete).
 */
export function openSqliteSharedStore(db: Db): SharedStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS shared_journal_head (
      partition TEXT PRIMARY KEY, last_position INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS shared_journal (
      partition TEXT NOT NULL, position INTEGER NOT NULL, edge TEXT NOT NULL, seq INTEGER NOT NULL,
      received_at INTEGER NOT NULL, batch BLOB NOT NULL,
      PRIMARY KEY (partition, position)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS shared_leases (
      partition TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS shared_rules_state (
      partition TEXT PRIMARY KEY, cursor INTEGER NOT NULL, state BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS shared_deadlines (
      key TEXT PRIMARY KEY, partition TEXT NOT NULL, due_at INTEGER NOT NULL, payload TEXT NOT NULL,
      claim TEXT, claim_expires INTEGER) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS shared_deadlines_due ON shared_deadlines (due_at);
  `);
  /** The item being recorded, for the seq state's hook (it names only edge and seq). */
  let recording: CommitItem | undefined;
  const fresh: CommitItem[] = [];
  // Creates (or migrates) the seq tables first.
  const seqs = createSharedSeqState(db, () => fresh.push(recording!));
  const st = seqStatements(db);

  const advanceHead = db.prepare<[string], { last_position: number }>(
    `INSERT INTO shared_journal_head (partition, last_position) VALUES (?, 1)
     ON CONFLICT (partition) DO UPDATE SET last_position = last_position + 1
     RETURNING last_position`,
  );
  const appendJournal = db.prepare<[string, number, string, number, number, Buffer]>(
    'INSERT INTO shared_journal (partition, position, edge, seq, received_at, batch) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const selectJournal = db.prepare<
    [string, number, number],
    { position: number; edge: string; seq: number; received_at: number; batch: Buffer }
  >(
    `SELECT position, edge, seq, received_at, batch FROM shared_journal
      WHERE partition = ? AND position > ? ORDER BY position LIMIT ?`,
  );
  const selectPartitions = db.prepare<[], { partition: string }>(
    'SELECT partition FROM shared_journal_head UNION SELECT partition FROM shared_leases ORDER BY 1',
  );
  // Same upsert as PostgreSQL's: renew our live lease, take a free or expired one, else nothing.
  const upsertLease = db.prepare<
    { partition: string; holder: string; expires: number; now: number },
    { holder: string; epoch: number; expires_at: number }
  >(
    `INSERT INTO shared_leases AS l (partition, holder, epoch, expires_at) VALUES (@partition, @holder, 1, @expires)
     ON CONFLICT (partition) DO UPDATE
       SET epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > @now THEN l.epoch ELSE l.epoch + 1 END,
           holder = excluded.holder, expires_at = excluded.expires_at
       WHERE (l.holder = excluded.holder AND l.expires_at > @now) OR l.expires_at <= @now
     RETURNING holder, epoch, expires_at`,
  );
  const releaseLease = db.prepare<[string, string, number]>(
    'UPDATE shared_leases SET expires_at = 0 WHERE partition = ? AND holder = ? AND epoch = ?',
  );
  const leaseEpoch = db.prepare<[string], { epoch: number }>(
    'SELECT epoch FROM shared_leases WHERE partition = ?',
  );
  const upsertState = db.prepare<[string, number, Buffer]>(
    `INSERT INTO shared_rules_state (partition, cursor, state) VALUES (?, ?, ?)
     ON CONFLICT (partition) DO UPDATE SET cursor = excluded.cursor, state = excluded.state`,
  );
  const pruneJournal = db.prepare<[string, number]>(
    'DELETE FROM shared_journal WHERE partition = ? AND position <= ?',
  );
  const selectState = db.prepare<[string], { cursor: number; state: Buffer }>(
    'SELECT cursor, state FROM shared_rules_state WHERE partition = ?',
  );
  const upsertDeadline = db.prepare<[string, string, number, string]>(
    `INSERT INTO shared_deadlines (key, partition, due_at, payload) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET partition = excluded.partition, due_at = excluded.due_at,
       payload = excluded.payload, claim = NULL, claim_expires = NULL`,
  );
  const deleteDeadline = db.prepare<[string]>('DELETE FROM shared_deadlines WHERE key = ?');
  const claimDue = db.prepare<
    { now: number; limit: number; claim: string; expires: number },
    { key: string; partition: string; due_at: number; payload: string }
  >(
    `UPDATE shared_deadlines SET claim = @claim, claim_expires = @expires
      WHERE key IN (SELECT key FROM shared_deadlines
                     WHERE due_at <= @now AND (claim IS NULL OR claim_expires <= @now)
                     ORDER BY due_at, key LIMIT @limit)
     RETURNING key, partition, due_at, payload`,
  );
  const deleteClaimed = db.prepare<[string, string]>(
    'DELETE FROM shared_deadlines WHERE key = ? AND claim = ?',
  );
  const unclaim = db.prepare<[string, string]>(
    'UPDATE shared_deadlines SET claim = NULL, claim_expires = NULL WHERE key = ? AND claim = ?',
  );

  const record = db.transaction((items: readonly CommitItem[]) => {
    fresh.length = 0;
    const newly = items.map((it) => {
      const before = fresh.length;
      recording = it;
      seqs.record(it.edge, it.seq, it.epoch);
      return fresh.length > before;
    });
    for (const it of fresh) {
      const position = advanceHead.get(it.partition)!.last_position;
      appendJournal.run(it.partition, position, it.edge, it.seq, it.receivedAt, bytes(it.batch));
    }
    return newly;
  });
  const save = db.transaction((partition: string, epoch: number, saved: SavedRulesState) => {
    const current = leaseEpoch.get(partition)?.epoch;
    if (current !== epoch) {
      throw new LeaseLostError(
        `rules partition ${partition}: lease epoch ${epoch} is no longer current (now ${current ?? 'none'})`,
      );
    }
    if (saved.commands?.length) acceptRuleCommandsSqlite(db, partition, saved.commands);
    upsertState.run(partition, saved.cursor, bytes(saved.state));
    pruneJournal.run(partition, saved.cursor);
  });
  const claim = db.transaction((now: number, limit: number, token: string) =>
    claimDue.all({ now, limit, claim: token, expires: now + CLAIM_TTL_MS }),
  );

  return {
    kind: 'sqlite',
    commands: openCommandStore(db),
    deviceOwners: openDeviceOwnerStore(db),
    sessions: openSessionStore(db),
    apiTokens: openApiTokenStore(db),
    seriesCatalog: openSeriesCatalog(db),
    registry: openSharedRegistryStore(db),
    deadLetters: openDeadLetterStore(db),
    ruleViews: openRuleViewStore(db),
    quality: openQualityStore(db),
    aqi: openAqiStore(db),
    hostBeats: sqliteHostBeats(db),
    ruleCommands: openRuleCommandStore(db),
    deliveries: openDeliveryLogStore(db),
    isCommitted: async (edge, epoch, seq) => seqs.isCommitted(edge, seq, epoch),
    committedAmong: async (keys) =>
      db.transaction(() => keys.map((k) => seqs.isCommitted(k.edge, k.seq, k.epoch)))(),
    snapshot: async (edge, epoch) => db.transaction(() => seqs.snapshot(edge, epoch))(),
    epochChange: async (edge, epoch) => epochChangeIn(st, edge, epoch),
    // IMMEDIATE: the write lock first, so two workers' groups apply one after the other.
    recordCommits: async (items) => (items.length === 0 ? [] : record.immediate(items)),
    readJournal: async (partition, afterPosition, limit): Promise<JournalRow[]> =>
      selectJournal.all(partition, afterPosition, limit).map((r) => ({
        partition,
        position: r.position,
        edge: r.edge,
        seq: r.seq,
        receivedAt: r.received_at,
        batch: new Uint8Array(r.batch),
      })),
    partitions: async () => selectPartitions.all().map((r) => r.partition),
    async acquireLease(partition, holder, ttlMs, now): Promise<Lease | undefined> {
      const r = upsertLease.get({ partition, holder, expires: now + ttlMs, now });
      return r === undefined
        ? undefined
        : { partition, holder: r.holder, epoch: r.epoch, expiresAt: r.expires_at };
    },
    async releaseLease(partition, holder, epoch) {
      releaseLease.run(partition, holder, epoch);
    },
    async saveRulesState(partition, epoch, saved) {
      save.immediate(partition, epoch, saved);
    },
    async loadRulesState(partition) {
      const r = selectState.get(partition);
      return r === undefined ? undefined : { cursor: r.cursor, state: new Uint8Array(r.state) };
    },
    async scheduleDeadline(d) {
      upsertDeadline.run(d.key, d.partition, d.dueAt, JSON.stringify(d.payload ?? null));
    },
    async cancelDeadline(key) {
      deleteDeadline.run(key);
    },
    async fireDue(now, limit, fire) {
      const token = randomUUID();
      let fired = 0;
      const claimed = claim
        .immediate(now, limit, token)
        .sort((a, b) => a.due_at - b.due_at || (a.key < b.key ? -1 : 1));
      for (const r of claimed) {
        try {
          await fire({ key: r.key, partition: r.partition, dueAt: r.due_at, payload: JSON.parse(r.payload) });
          deleteClaimed.run(r.key, token);
          fired++;
        } catch {
          unclaim.run(r.key, token); // for the next round
        }
      }
      return fired;
    },
    async close() {
      // The Db is the caller's (the cloud opens and closes cloud.db).
    },
  };
}
