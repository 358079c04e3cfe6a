import type { Ack } from '@village/protocol';
import type { Logger } from '@village/service-kit';
import type { EdgeMetrics } from './metrics.js';

/**
 * Points the cloud refused inside batches it acked (the device belongs to another edge, e.g. it was
 * moved in the cloud's registry). The batch is acked, so it leaves the outbox and is never resent:
 * resending would be refused again. Counted and logged, so the operator fixes the registry or the
 * edge's config.
 */
export function reportRefusals(refused: Ack['refused'], metrics: EdgeMetrics, log: Logger): void {
  for (const r of refused ?? []) {
    metrics.devicesRefused.inc({ reason: r.reason.split(':')[0] ?? r.reason });
    log.warn({ seq: r.seq, device: r.device, reason: r.reason }, 'cloud refused the points of a device');
  }
}
