import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outbox, OutboxStats } from './outbox.js';

/** Every Prometheus series the edge exports. Outbox gauges are read from SQLite once per scrape. */
export function createEdgeMetrics(outbox: () => Outbox | undefined, now: () => number = Date.now) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let cached: { at: number; stats: OutboxStats } | undefined;
  const stats = (): OutboxStats | undefined => {
    const o = outbox();
    if (!o) return undefined;
    const t = now();
    // One scrape reads several gauges; query SQLite once for all of them.
    if (!cached || t - cached.at > 250) cached = { at: t, stats: o.stats() };
    return cached.stats;
  };
  const gauge = (name: string, help: string, pick: (s: OutboxStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = stats();
        if (s) this.set(pick(s));
      },
    });
  gauge(
    'edge_outbox_pending_readings',
    'Readings stored but not yet cut into a batch',
    (s) => s.pendingReadings,
  );
  gauge('edge_outbox_pending_events', 'Events stored but not yet cut into a batch', (s) => s.pendingEvents);
  gauge('edge_outbox_batches', 'Batches cut and not yet acked by the cloud', (s) => s.batches);
  gauge(
    'edge_outbox_depth_readings',
    'Readings not yet acked by the cloud',
    (s) => s.pendingReadings + s.batchedReadings,
  );
  gauge('edge_outbox_oldest_unsent_age_seconds', 'Age of the oldest reading or event not yet acked', (s) =>
    s.oldestAcceptedAt === null ? 0 : Math.max(0, (now() - s.oldestAcceptedAt) / 1000),
  );
  gauge('edge_outbox_bytes', 'Bytes the outbox database holds', (s) => s.bytesUsed);
  gauge(
    'edge_outbox_dropped_readings',
    'Readings dropped for quota or rejected by the cloud, lifetime',
    (s) => s.droppedReadings,
  );
  gauge('edge_outbox_disk_full', '1 while telemetry is refused because the disk is full', (s) =>
    s.diskFull ? 1 : 0,
  );
  gauge(
    'edge_outbox_event_reserve_bytes',
    'Disk space held in reserve for events (0 once given up on a full disk)',
    (s) => s.eventReserveBytes,
  );
  gauge(
    'edge_outbox_rejected_batches',
    'Batches the cloud rejected as malformed, lifetime',
    (s) => s.rejectedBatches,
  );

  return {
    registry,
    readingsAccepted: new Counter({
      name: 'edge_readings_accepted_total',
      help: 'Readings durably stored',
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'edge_events_accepted_total',
      help: 'Events durably stored',
      registers: [registry],
    }),
    readingsInvalid: new Counter({
      name: 'edge_readings_invalid_total',
      help: 'Readings or events a driver produced that failed validation (dropped, logged)',
      labelNames: ['driver'],
      registers: [registry],
    }),
    batchesSent: new Counter({
      name: 'edge_batches_sent_total',
      help: 'Batch publications, first sends',
      registers: [registry],
    }),
    bytesSent: new Counter({
      name: 'edge_uplink_batch_bytes_sent_total',
      help: 'Encoded batch bytes published, first sends only',
      registers: [registry],
    }),
    readingsSent: new Counter({
      name: 'edge_uplink_readings_sent_total',
      help: 'Readings in batches published, first sends only',
      registers: [registry],
    }),
    batchesRetried: new Counter({
      name: 'edge_batches_retried_total',
      help: 'Batch resends after an ack timeout',
      registers: [registry],
    }),
    batchesAcked: new Counter({
      name: 'edge_batches_acked_total',
      help: 'Batches the cloud acked',
      registers: [registry],
    }),
    batchesRejected: new Counter({
      name: 'edge_batches_rejected_total',
      help: 'Batches the cloud rejected',
      registers: [registry],
    }),
    devicesRefused: new Counter({
      name: 'edge_devices_refused_total',
      help: 'Devices of acked batches whose points the cloud refused (device registered to another edge)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'edge_batch_ack_seconds',
      help: 'From publish to the cloud ack',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inflight: new Gauge({
      name: 'edge_uplink_inflight_batches',
      help: 'Batches sent and awaiting ack',
      registers: [registry],
    }),
    uplinkConnected: new Gauge({
      name: 'edge_uplink_connected',
      help: '1 when connected to the cloud broker',
      registers: [registry],
    }),
    uplinkConnects: new Counter({
      name: 'edge_uplink_connects_total',
      help: 'Successful connections',
      registers: [registry],
    }),
    uplinkState: new Gauge({
      name: 'edge_uplink_state',
      help: '1 for the uplink state now (connecting, connected, unauthorized, unreachable), 0 for the others',
      labelNames: ['state'],
      registers: [registry],
    }),
    uplinkBroker: new Gauge({
      name: 'edge_uplink_broker',
      help: '1 for the broker (cloud.url or one of cloud.urls, without credentials) whose session is up, 0 for the others',
      labelNames: ['url'],
      registers: [registry],
    }),
    uplinkFailovers: new Counter({
      name: 'edge_uplink_failovers_total',
      help: 'Sessions opened on another broker than the previous session was on',
      registers: [registry],
    }),
    uplinkRefusals: new Counter({
      name: 'edge_uplink_refusals_total',
      help: 'CONNECTs the cloud refused, by reason (unauthorized: bad credentials or not in cloud.yaml)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    acksIgnored: new Counter({
      name: 'edge_acks_ignored_total',
      help: 'Acked or rejected seqs ignored, deleting nothing: not in flight, or naming another outbox epoch',
      labelNames: ['reason'],
      registers: [registry],
    }),
    clockOffset: new Gauge({
      name: 'edge_clock_offset_seconds',
      help: "The cloud's clock minus the edge's, measured from the last ack that carried the cloud's time",
      registers: [registry],
    }),
    readingsRefused: new Counter({
      name: 'edge_readings_refused_total',
      help: 'Readings a driver emitted that the outbox refused (disk_full), so never accepted',
      labelNames: ['driver', 'reason'],
      registers: [registry],
    }),
    uplinkErrors: new Counter({
      name: 'edge_uplink_errors_total',
      help: 'Uplink errors by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    driverErrors: new Counter({
      name: 'edge_driver_errors_total',
      help: 'Errors a driver counted (bad input, failed exchanges)',
      labelNames: ['driver', 'reason'],
      registers: [registry],
    }),
    driverRestarts: new Counter({
      name: 'edge_driver_restarts_total',
      help: 'Driver restarts',
      labelNames: ['driver'],
      registers: [registry],
    }),
    driverUp: new Gauge({
      name: 'edge_driver_up',
      help: '1 while a driver runs',
      labelNames: ['driver'],
      registers: [registry],
    }),
    commands: new Counter({
      name: 'edge_commands_total',
      help: 'Commands by result',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;
