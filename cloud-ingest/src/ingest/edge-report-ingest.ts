import type { Status } from '@village/protocol';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type EdgeStateStore, alertValues } from '../store/edge-state-store.js';
import type { EdgeHealthThresholds } from '../store/edge-state-store.js';

/**
 * Applies an edge's state report (Status `report`): stores it, raises or clears its backlog and
 * disk alerts (log lines at warn), and exports the figures as Prometheus gauges per edge.
 */
export function createEdgeReportIngest(deps: {
  store: EdgeStateStore;
  thresholds: EdgeHealthThresholds;
  metricsRegistry: Registry;
  log: Logger;
  now(): number;
}): (status: Extract<Status, { state: 'report' }>) => void {
  const registers = [deps.metricsRegistry];
  const backlogAge = new Gauge({
    name: 'cloud_edge_backlog_age_seconds',
    help: 'Age of the oldest reading or event an edge holds unsent, as of its last state report',
    labelNames: ['edge'],
    registers,
  });
  const backlogDepth = new Gauge({
    name: 'cloud_edge_backlog_readings',
    help: 'Readings an edge holds unacked, as of its last state report',
    labelNames: ['edge'],
    registers,
  });
  const diskFree = new Gauge({
    name: 'cloud_edge_disk_free_ratio',
    help: 'Free share of the file system of an edge’s outbox, as of its last state report',
    labelNames: ['edge'],
    registers,
  });
  const alertActive = new Gauge({
    name: 'cloud_edge_alert_active',
    help: 'Edge alerts open now (backlog older than edgeHealth.backlogAlertS, disk nearly full)',
    labelNames: ['edge', 'kind'],
    registers,
  });
  const raisedTotal = new Counter({
    name: 'cloud_edge_alerts_raised_total',
    help: 'Edge alerts raised, by kind',
    labelNames: ['kind'],
    registers,
  });
  return (status) => {
    const now = deps.now();
    const { raised, cleared } = deps.store.record(
      {
        edge: status.edgeId,
        ts: status.ts,
        boot: status.boot,
        version: status.version,
        report: status.report,
      },
      now,
    );
    const values = alertValues(status.report, deps.thresholds);
    backlogAge.set({ edge: status.edgeId }, values.backlog.value);
    backlogDepth.set({ edge: status.edgeId }, status.report.outbox.pendingReadings);
    diskFree.set({ edge: status.edgeId }, values.disk.value);
    for (const a of raised) {
      raisedTotal.inc({ kind: a.kind });
      alertActive.set({ edge: a.edge, kind: a.kind }, 1);
      deps.log.warn(
        { edge: a.edge, kind: a.kind, value: a.value, code: `edge_${a.kind}` },
        'edge alert raised',
      );
    }
    for (const a of cleared) {
      alertActive.set({ edge: a.edge, kind: a.kind }, 0);
      deps.log.info({ edge: a.edge, kind: a.kind }, 'edge alert cleared');
    }
  };
}
