import { LEGACY_EPOCH, ProtocolError, type Status, decodeStatus, parseTopic } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import type { RegistryStore } from '../store/registry-store.js';

export interface StatusIngestDeps {
  registry: RegistryStore;
  metrics: CloudMetrics;
  log: Logger;
  now(): number;
  /** Called after an applied birth: the edge has just (re)connected with a fresh session. */
  onBirth?(edgeId: string): void;
  /** Called after an applied death (the edge's current session went away). */
  onDeath?(edgeId: string): void;
  /** An edge's state report (Status `report`, ingest/edge-report-ingest.ts). */
  onReport?(status: Extract<Status, { state: 'report' }>): void;
}

/**
 * Births and deaths on `v1/e/{edge}/up/status`, as Sparkplug does: a birth names the edge's boot
 * and device inventory; a death (the last will) marks the edge offline only when it names the
 * edge's current boot, so the will of an older session arriving late never hides a live edge.
 */
export function createStatusIngest(deps: StatusIngestDeps): (topic: string, payload: Uint8Array) => void {
  const { registry, metrics, log } = deps;
  return function ingestStatus(topic, payload) {
    let edgeId: string | undefined;
    try {
      edgeId = parseTopic(topic).edgeId;
      const status = decodeStatus(payload);
      if (status.edgeId !== edgeId) {
        throw new ProtocolError(
          'bad_shape',
          'status.edgeId',
          `does not match topic edge ${edgeId}`,
          status.edgeId,
        );
      }
      if (status.state === 'report') {
        deps.onReport?.(status);
        metrics.statusMessages.inc({ state: 'report', result: 'applied' });
      } else if (status.state === 'online') {
        // The birth does not move these (registry-store.ts): a device keeps the edge that owns it.
        const foreign = registry.foreignDevices(
          edgeId,
          status.devices.map((d) => d.id),
        );
        if (foreign.size > 0) {
          metrics.pointsRefused.inc({ edge: edgeId, kind: 'birth' }, foreign.size);
          log.warn(
            { edge: edgeId, code: 'not_owner', devices: Object.fromEntries(foreign) },
            'birth names devices of another edge; they stay with their owner',
          );
        }
        const result = registry.recordBirth(
          edgeId,
          status.boot,
          status.ts,
          status.version,
          status.devices,
          deps.now(),
          status.bdSeq,
        );
        metrics.statusMessages.inc({ state: 'online', result });
        if (result === 'applied') deps.onBirth?.(edgeId);
        log.info(
          {
            edge: edgeId,
            boot: status.boot,
            bdSeq: status.bdSeq,
            epoch: status.epoch ?? LEGACY_EPOCH,
            clockOffsetS: status.clockOffsetS,
            devices: status.devices.length,
            result,
          },
          'edge birth',
        );
      } else {
        const result = registry.recordDeath(edgeId, status.boot, status.bdSeq);
        metrics.statusMessages.inc({ state: 'offline', result });
        if (result === 'applied') deps.onDeath?.(edgeId);
        log.info(
          { edge: edgeId, boot: status.boot, bdSeq: status.bdSeq, result },
          result === 'applied' ? 'edge death' : 'stale edge death ignored',
        );
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      metrics.statusMessages.inc({ state: 'malformed', result: err.code });
      log.warn(
        { edge: edgeId, code: err.code, path: err.path, err: err.message },
        'malformed status dropped',
      );
    }
  };
}
