// Types of bench/fleet-edges.mjs, for the e2e fleet test that shares it.
export interface FleetEdge {
  id: string;
  /** The MQTT password the edge presents. */
  secret: string;
}

export interface FleetCounters {
  sent: number;
  acked: number;
  resent: number;
  ackErrors: number;
  /** ms from publish to the cloud's ack, one per acked batch. */
  latencies: number[];
  /** Batches cut and waiting at the edges for a window slot (at the time of the call). */
  backlog: number;
  /** Batches sent and not yet acked (at the time of the call). */
  inflight: number;
}

export interface FleetOptions {
  url: string;
  edges: FleetEdge[];
  periodMs?: number;
  readings?: number;
  window?: number;
  ackTimeoutMs?: number;
  /** The cap of the backed-off timeout (the edge's `cloud.ackTimeoutMaxMs`), ms. */
  ackTimeoutMaxMs?: number;
  /** The edge's resend policy (edge-agent/src/resend-backoff.ts); without it, a fixed timeout. */
  resendBackoff?: boolean;
  workers?: number;
  connectConcurrency?: number;
}

export interface Fleet {
  connected: Promise<{ connectMs: number }>;
  take(): Promise<FleetCounters>;
  reconnect(): Promise<{ reconnectMs: number }>;
  stopCutting(): Promise<void>;
  stop(): Promise<void>;
}

export function startFleet(options: FleetOptions): Fleet;
