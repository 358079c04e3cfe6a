import type { ApiTokenStore } from '../auth/api-token-store.js';
import type { SessionStore } from '../auth/session-store.js';
import type { DeliveryLogStore } from '../notify/shared-delivery-log.js';
import type { AqiStore } from '../rules-runtime/aqi-store.js';
import type { QualityStore } from '../rules-runtime/quality-store.js';
import type { RuleCommandStore } from '../rules-runtime/rule-command-store.js';
import type { RuleViewStore } from '../rules-runtime/rule-view-store.js';
import type { SeriesCatalog } from '../sink/influx-series-catalog.js';
import type { CommandStore } from '../store/command-store.js';
import type { DeadLetterStore } from '../store/dead-letter-store.js';
import type { DeviceOwnerStore } from '../store/device-owner-store.js';
import type { EpochChange } from '../store/seq-state.js';
import type { SharedRegistryStore } from '../store/shared-registry-store.js';
import type { HostBeats } from './host-beats.js';

/**
 * The state several ingest hosts share (docs/scaling.md "Several hosts"): the per-edge seq and
 * epoch dedupe, the committed-batch journal the rules read, the commands sent to edges, the rules partitions' leases with
 * their fenced state, and the incident deadlines any live host may fire. Two implementations pass
 * one suite (test/shared-store-suite.ts): SQLite (one host, several workers on one file) and
 * PostgreSQL (`store: { kind: postgres, url }`, several hosts).
 *
 * Everything is async, since PostgreSQL is across the network; every method that writes runs in
 * one transaction, and is safe under concurrent callers in other processes.
 */

/** One batch's place in its edge's seq stream. */
export interface SeqKey {
  edge: string;
  /** The outbox epoch (LEGACY_EPOCH for an edge that sends none). */
  epoch: string;
  seq: number;
}

/** One batch the sink made durable, to record as committed (and journal, when new). */
export interface CommitItem {
  edge: string;
  /** The outbox epoch (LEGACY_EPOCH for an edge that sends none). */
  epoch: string;
  seq: number;
  /** ms epoch the ingest received it. */
  receivedAt: number;
  /** The rules partition its edge belongs to (for example its village); its journal row goes there. */
  partition: string;
  /** The batch's CBOR bytes as received, for the rules to decode. */
  batch: Uint8Array;
}

/** One journal row: a batch newly committed by some host, at `position` of its partition. */
export interface JournalRow {
  partition: string;
  /**
   * 1, 2, 3, ... within the partition, without gaps, in commit order: a reader that has seen
   * position n never later finds a row below n (a BIGSERIAL id would not hold this: ids become
   * visible in commit order, not in id order).
   */
  position: number;
  edge: string;
  seq: number;
  receivedAt: number;
  batch: Uint8Array;
}

/** A rules partition's lease. `epoch` grows by one at every change of holder: the fencing token. */
export interface Lease {
  partition: string;
  holder: string;
  epoch: number;
  /** ms epoch. */
  expiresAt: number;
}

/** A partition's saved rules state and the journal position it reflects. */
export interface SavedRulesState {
  cursor: number;
  state: Uint8Array;
  /**
   * Saving only: the queued commands (`ruleCommands`) this state carries out, accepted in the same
   * transaction; the save throws RuleCommandGoneError and writes nothing when one is not pending.
   */
  commands?: readonly string[];
}

/** A timer (an incident's acknowledgement deadline) any live host may fire once it is due. */
export interface Deadline {
  /** Unique; scheduling the same key again moves the deadline. */
  key: string;
  partition: string;
  /** ms epoch. */
  dueAt: number;
  /** JSON-serialisable: what firing it needs. */
  payload: unknown;
}

export interface SeqSnapshot {
  highWater: number;
  above: number[];
}

/** A fenced write by a holder whose lease was taken over (its epoch is no longer the partition's). */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'lease_lost';
}

export interface SharedStore {
  readonly kind: 'sqlite' | 'postgres';

  /** Commands and their results: sent through one host's API, completed by whichever host the result reaches. */
  readonly commands: CommandStore;

  /** Who owns which device: the first claim on any host wins, registry.yaml's owners override claims. */
  readonly deviceOwners: DeviceOwnerStore;
  /**
   * Officers' login sessions and API tokens: made, ended (logout, password reset) and revoked
   * through any host, seen by every host (the next request may reach another host).
   */
  readonly sessions: SessionStore;
  readonly apiTokens: ApiTokenStore;
  /** The InfluxDB sink's series catalog: written by the host that wrote a series, listed by every host's history. */
  readonly seriesCatalog: SeriesCatalog;
  /**
   * The registry (places, people, officers with their password hashes) as one versioned document:
   * an admin change through any host is written under its lock, and every host imports each newer
   * version into its cloud.db (store/registry-replica.ts).
   */
  readonly registry: SharedRegistryStore;
  /**
   * Dead letters (what the ingest could not decode, what the sink refused for good): added by
   * the host that got them, listed and re-driven through any host, each re-drive run once.
   */
  readonly deadLetters: DeadLetterStore;
  /** Alerts and incidents as the API shows them: written by each village's holder, read by every host. */
  readonly ruleViews: RuleViewStore;
  /**
   * Quality control's flags, windows and audit, and the published AQI's samples, due hours and
   * rows: written by each village's holder as it judges its batches, by any host for an officer's
   * window or invalidation, read by every host's API; each due hour published once by any host.
   */
  readonly quality: QualityStore;
  readonly aqi: AqiStore;
  /** Which hosts run rules partitions now: each lease round shares the partitions among them. */
  readonly hostBeats: HostBeats;
  /** Officers' incident commands sent through a host that does not hold the village, for its holder to run and answer. */
  readonly ruleCommands: RuleCommandStore;
  /** The notification delivery log: each host copies the deliveries it queued and sent, every host reads an incident's whole log. */
  readonly deliveries: DeliveryLogStore;

  // Seq and epoch dedupe (DESIGN.md "Delivery, precisely"), same meaning as store/seq-state.ts.
  isCommitted(edge: string, epoch: string, seq: number): Promise<boolean>;
  /** `isCommitted` of each key, in order, in one round trip (a group commit's dedupe). */
  committedAmong(keys: readonly SeqKey[]): Promise<boolean[]>;
  snapshot(edge: string, epoch: string): Promise<SeqSnapshot>;
  epochChange(edge: string, epoch: string): Promise<EpochChange | undefined>;
  /**
   * In ONE transaction: records each item's (edge, epoch, seq) as committed and, for each one not
   * committed before (by this or any other host), appends its journal row at the next position of
   * its partition. Returns, per item and in order, whether it was newly committed. Safe when
   * several hosts record overlapping items at once: each seq is new for exactly one of them.
   */
  recordCommits(items: readonly CommitItem[]): Promise<boolean[]>;

  // The journal.
  /** Rows of `partition` after `afterPosition`, in position order, at most `limit`. */
  readJournal(partition: string, afterPosition: number, limit: number): Promise<JournalRow[]>;
  /** The partitions that have journal rows or a lease. */
  partitions(): Promise<string[]>;

  // Rules partitions.
  /**
   * Takes the lease when free or expired (a new epoch), or renews it when `holder` has it (same
   * epoch, new expiry). Undefined while another holder's lease has not expired.
   */
  acquireLease(partition: string, holder: string, ttlMs: number, now: number): Promise<Lease | undefined>;
  /** Gives the lease up, if `holder` still has it at `epoch`, so another host takes over at once. */
  releaseLease(partition: string, holder: string, epoch: number): Promise<void>;
  /**
   * Saves the partition's rules state and cursor and deletes its journal rows up to the cursor,
   * all in one transaction that first checks that `epoch` is still the partition's lease epoch;
   * throws LeaseLostError (and writes nothing) when it is not.
   */
  saveRulesState(partition: string, epoch: number, saved: SavedRulesState): Promise<void>;
  loadRulesState(partition: string): Promise<SavedRulesState | undefined>;

  // Deadlines.
  scheduleDeadline(deadline: Deadline): Promise<void>;
  cancelDeadline(key: string): Promise<void>;
  /**
   * Claims up to `limit` deadlines due at `now` that no other host is firing (PostgreSQL:
   * `FOR UPDATE SKIP LOCKED`) and calls `fire` for each inside the claim's transaction; a row
   * whose `fire` resolves is deleted with the commit, one whose `fire` rejects stays for the next
   * round. Returns how many fired. Two hosts calling at once never fire one deadline twice.
   */
  fireDue(now: number, limit: number, fire: (deadline: Deadline) => Promise<void>): Promise<number>;

  close(): Promise<void>;
}
