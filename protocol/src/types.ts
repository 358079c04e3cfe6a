/**
 * The wire contract shared by edge and cloud (see shared/DESIGN.md, "The wire contract").
 * Everything here is plain data: no classes, so any side can build and read it.
 */

export type Quality = 'good' | 'suspect' | 'bad';
export const QUALITIES: readonly Quality[] = ['good', 'suspect', 'bad'];

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** A reading's value: a number, a boolean, or a short string (see MAX_STRING_VALUE). */
export type Value = number | boolean | string;

/** One measurement taken at the edge. `ts` is milliseconds since the Unix epoch, taken at the edge. */
export interface Reading {
  device: string;
  metric: string;
  value: Value;
  unit: string;
  ts: number;
  quality: Quality;
}

/** Small, flat key → value map attached to an event (depth 1; see limits). */
export type EventData = Record<string, Value | null>;

/**
 * An alarm or state change from a device or from the edge itself (`gap`, `offline`, ...).
 * Events travel in their own lane and are never dropped for quota.
 */
export interface DeviceEvent {
  device: string;
  type: string;
  severity: Severity;
  ts: number;
  data: EventData;
}

/** What the edge sends on `v1/e/{edgeId}/up/batch`. */
export interface Batch {
  edgeId: string;
  /** Monotonic per edge, never reused, survives restarts. */
  seq: number;
  /** The edge's boot counter when the batch was cut. */
  boot: number;
  /**
   * The outbox's epoch: a random id made when the outbox was created, so a wiped outbox (whose
   * seqs start at 1 again) is a new stream, never a replay. Absent from an edge that predates
   * epochs: the cloud reads that as LEGACY_EPOCH.
   */
  epoch?: string;
  /** ms epoch when the batch was cut. */
  createdAt: number;
  /** True for backlog cut while the uplink was down: rules use event times, dashboards show it late. */
  historical: boolean;
  readings: Reading[];
  events: DeviceEvent[];
}

/** What the cloud sends on `v1/e/{edgeId}/down/ack`, after the sink committed. */
export interface Ack {
  /** Seqs committed (or already committed earlier: a resend is acked again). */
  acked: number[];
  /** Seqs that can never be committed (the batch is malformed); the edge drops them and counts it. */
  rejected: { seq: number; reason: string }[];
  /** The epoch of the batches acked (absent from an older cloud): an ack for another epoch is ignored. */
  epoch?: string;
  /** The cloud's clock (ms epoch) when it sent the ack (absent from an older cloud): the edge measures its clock offset from it. */
  cloudTime?: number;
  /**
   * Points of an acked seq that the cloud refused and will never store (the device belongs to another
   * edge). The seq itself is acked: the edge deletes the batch, counts and logs these, never resends.
   * Optional on the wire (key `f`), so an older edge simply ignores it.
   */
  refused?: { seq: number; device: string; reason: string }[];
}

/** Device inventory entry carried by the birth certificate. */
export interface InventoryEntry {
  id: string;
  kind: string;
  driver: string;
  metrics: { name: string; unit: string }[];
}

/**
 * Retained on `v1/e/{edgeId}/up/status`: birth when online, last will when offline.
 *
 * BD_SEQ (Sparkplug's bdSeq): the edge numbers its broker sessions 1, 2, 3, ... within a boot,
 * and a session's birth and will name the same number. A broker that notices a session's end late
 * (the edge failed over to another broker meanwhile) then publishes a will the cloud can tell from
 * the current session's: a death or birth naming a lower bdSeq than the last birth of that boot
 * is stale. Time cannot do this: an edge's clock may step back between two sessions.
 */
export type Status =
  | {
      state: 'online';
      edgeId: string;
      boot: number;
      /** The outbox's epoch (see Batch.epoch); absent from an edge that predates epochs. */
      epoch?: string;
      ts: number;
      version: string;
      devices: InventoryEntry[];
      /** The edge's clock offset from the cloud, seconds (cloud minus edge), when it has measured one. */
      clockOffsetS?: number;
      /** This session's number within the boot (BD_SEQ); absent from an edge that predates it. */
      bdSeq?: number;
    }
  /** The last will (or a clean stop's death), naming the boot and the session (BD_SEQ) it ends. */
  | { state: 'offline'; edgeId: string; boot: number; epoch?: string; bdSeq?: number }
  /**
   * The edge's running state, every minute and on change, NOT retained (so the retained birth or
   * will stays what a new subscriber sees). A cloud that predates it drops it as malformed.
   */
  | {
      state: 'report';
      edgeId: string;
      boot: number;
      epoch?: string;
      ts: number;
      version: string;
      report: EdgeReport;
    };

/** What an edge reports about itself (Status `report`): enough for the cloud to see a backlog or a full disk. */
export interface EdgeReport {
  outbox: {
    /** Readings and events accepted but not yet acked by the cloud. */
    pendingReadings: number;
    pendingEvents: number;
    /** Age of the oldest reading or event not yet acked, seconds; null when the outbox is empty. */
    oldestUnsentAgeS: number | null;
    bytesUsed: number;
    droppedReadings: number;
    diskFull: boolean;
  };
  drivers: { id: string; kind: string; running: boolean; restarts: number }[];
  /** Free and total bytes of the file system holding the outbox; null when unknown. */
  diskFreeBytes: number | null;
  diskTotalBytes: number | null;
  /** Cloud minus edge clock, seconds, when measured. */
  clockOffsetS?: number;
}

/** A command from the cloud on `down/cmd`. */
export interface Command {
  id: string;
  device: string;
  action: string;
  params: Record<string, Value>;
  /** ms epoch after which the command must not run. */
  expiresAt?: number;
}

/** The edge's answer on `up/cmd-result`. */
export interface CommandResult {
  id: string;
  ok: boolean;
  ts: number;
  error?: string;
  /** With `error`: the driver's (or the edge's) snake_case code, e.g. `command_rejected`, kept end to end. */
  code?: string;
  data?: Record<string, Value>;
}
