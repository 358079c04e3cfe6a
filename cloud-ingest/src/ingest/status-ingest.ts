import { LEGACY_EPOCH, ProtocolError, type Status, decodeStatus, parseTopic } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import type { RegistryStore } from '../store/registry-store.js';
import type { SharedDeviceOwners } from './shared-device-owners.js';

export interface StatusIngestDeps {
  registry: RegistryStore;
  /**
   * store.kind postgres: a birth claims its devices in the SharedStore (every host gets every
   * birth, maybe in another order than the others: the first claim anywhere wins for all), and
   * this host's registry records only the devices that are the edge's there.
   */
  sharedOwners?: SharedDeviceOwners | undefined;
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
export function createStatusIngest(
  deps: StatusIngestDeps,
): (topic: string, payload: Uint8Array) => void | Promise<void> {
  const { registry, metrics, log } = deps;

  function applyBirth(
    status: Extract<Status, { state: 'online' }>,
    devices: Extract<Status, { state: 'online' }>['devices'],
    foreign: Map<string, string>,
  ): void {
    const edgeId = status.edgeId;
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
      devices,
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
  }

  // The birth waits for its claims. If the SharedStore cannot be reached, the birth is still
  // recorded (the edge is online), with only the devices known here to be the edge's: the others
  // are claimed by the edge's batches, or by its next birth.
  async function sharedBirth(
    owners: SharedDeviceOwners,
    status: Extract<Status, { state: 'online' }>,
  ): Promise<void> {
    const ids = status.devices.map((d) => d.id);
    const unknown = owners.unknown(ids);
    try {
      await owners.claim(
        unknown.map((device) => ({ device, edge: status.edgeId, source: 'birth' as const })),
      );
    } catch (err) {
      metrics.statusMessages.inc({ state: 'online', result: 'claim_failed' });
      log.warn(
        { edge: status.edgeId, err: (err as Error).message, devices: owners.unknown(ids) },
        'birth: device claims failed (shared store); its devices not yet claimed are left out',
      );
    }
    // Only the edge's own: this host's registry may have no row yet for a device claimed elsewhere.
    const foreign = owners.foreignDevices(status.edgeId, ids);
    const unclaimed = new Set(owners.unknown(ids));
    applyBirth(
      status,
      status.devices.filter((d) => !foreign.has(d.id) && !unclaimed.has(d.id)),
      foreign,
    );
  }

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
        if (deps.sharedOwners !== undefined) return sharedBirth(deps.sharedOwners, status);
        // The birth does not move these (registry-store.ts): a device keeps the edge that owns it.
        applyBirth(
          status,
          status.devices,
          registry.foreignDevices(
            edgeId,
            status.devices.map((d) => d.id),
          ),
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
