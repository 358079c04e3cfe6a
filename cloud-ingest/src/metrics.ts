import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one cloud process (its own registry, so tests can run several clouds). */
export interface CloudMetrics {
  registry: Registry;
  /**
   * result: committed | duplicate | malformed | rejected | failed (sink error, not acked: the edge resends);
   * code: ProtocolError code (malformed), edge_mismatch | bad_seq (rejected), error name (failed).
   */
  batches: Counter<'result' | 'code'>;
  readingsWritten: Counter;
  eventsWritten: Counter;
  /** Points that already existed and were overwritten (should stay 0: dedupe is the first line). */
  rewrites: Counter;
  /** reason: unknown_edge | bad_password | no_credentials | bad_will | cert_mismatch | too_many_sessions */
  authFailures: Counter<'reason'>;
  /** action: publish | subscribe | will */
  aclRefusals: Counter<'action'>;
  packetsTooLarge: Counter;
  /** state: online | offline | malformed; result: applied | stale | unknown-edge, or the ProtocolError code when malformed */
  statusMessages: Counter<'state' | 'result'>;
  commandResults: Counter<'result'>;
  /** Seconds from the batch's createdAt (edge clock) to the cloud's commit. */
  ingestLatency: Histogram;
  /** Batches written per SQLite transaction (group commit; 1 for a batch committed alone). */
  commitGroupBatches: Histogram;
  connectedEdges: Gauge;
  /** Points refused because their device belongs to another edge; kind: reading | event | birth (inventory entry). */
  pointsRefused: Counter<'edge' | 'kind'>;
  /** limit: connections | sessions_per_edge | connect_deadline | connect_bytes (broker/broker-limits.ts) */
  mqttLimitRefusals: Counter<'limit'>;
  /** code: the TLS error code of a failed handshake on the MQTT TLS listener */
  tlsHandshakeFailures: Counter<'code'>;
}

export function createCloudMetrics(): CloudMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    batches: new Counter({
      name: 'cloud_batches_total',
      help: 'Batches received, by result',
      labelNames: ['result', 'code'],
      registers,
    }),
    readingsWritten: new Counter({
      name: 'cloud_readings_written_total',
      help: 'Readings committed',
      registers,
    }),
    eventsWritten: new Counter({ name: 'cloud_events_written_total', help: 'Events committed', registers }),
    rewrites: new Counter({
      name: 'cloud_rewrites_total',
      help: 'Points written again over an existing point with the same key',
      registers,
    }),
    authFailures: new Counter({
      name: 'cloud_auth_failures_total',
      help: 'MQTT connections refused at authentication',
      labelNames: ['reason'],
      registers,
    }),
    aclRefusals: new Counter({
      name: 'cloud_acl_refusals_total',
      help: 'MQTT publishes, wills and subscriptions refused by the topic ACL',
      labelNames: ['action'],
      registers,
    }),
    packetsTooLarge: new Counter({
      name: 'cloud_mqtt_packets_too_large_total',
      help: 'MQTT connections closed for a packet over mqtt.maxPacketBytes',
      registers,
    }),
    statusMessages: new Counter({
      name: 'cloud_status_messages_total',
      help: 'Birth and death messages, by state and result',
      labelNames: ['state', 'result'],
      registers,
    }),
    commandResults: new Counter({
      name: 'cloud_command_results_total',
      help: 'Command results from edges: ok, error, unknown (no such command of that edge), malformed',
      labelNames: ['result'],
      registers,
    }),
    ingestLatency: new Histogram({
      name: 'cloud_ingest_latency_seconds',
      help: 'Batch createdAt (edge clock) to commit in the sink',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    commitGroupBatches: new Histogram({
      name: 'cloud_commit_group_batches',
      help: 'Batches written per sink transaction (group commit)',
      buckets: [1, 2, 3, 4, 6, 8, 12, 16],
      registers,
    }),
    connectedEdges: new Gauge({
      name: 'cloud_connected_edges',
      help: 'Distinct edges with at least one session on the broker (not sockets)',
      registers,
    }),
    pointsRefused: new Counter({
      name: 'cloud_points_refused_total',
      help: 'Readings and events refused at ingest: their device belongs to another edge',
      labelNames: ['edge', 'kind'],
      registers,
    }),
    mqttLimitRefusals: new Counter({
      name: 'cloud_mqtt_limit_refusals_total',
      help: 'MQTT sockets closed or CONNECTs refused by a limit (mqtt.limits)',
      labelNames: ['limit'],
      registers,
    }),
    tlsHandshakeFailures: new Counter({
      name: 'cloud_mqtt_tls_handshake_failures_total',
      help: 'Failed TLS handshakes on the MQTT TLS listener, by error code',
      labelNames: ['code'],
      registers,
    }),
  };
}
