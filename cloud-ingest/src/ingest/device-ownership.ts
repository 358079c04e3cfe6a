import type { Ack } from '@village/protocol';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';

export type Refusal = NonNullable<Ack['refused']>[number];

export const NOT_OWNER = 'not_owner';

/**
 * Who owns which device, for the check: this host's registry (registry-store.ts, cloud.db) or,
 * with `store.kind: postgres`, the claims all hosts share (shared-device-owners.ts).
 */
export interface DeviceOwners {
  /** Of `devices`, those that belong to another edge than `edgeId`, with their owner. */
  foreignDevices(edgeId: string, devices: Iterable<string>): Map<string, string>;
}

/** What the check reads of a batch: its readings and events may be the sink's (time-marked) copies. */
interface Points<R extends { device: string }, E extends { device: string }> {
  edgeId: string;
  seq: number;
  readings: readonly R[];
  events: readonly E[];
}

/**
 * The ingest's ownership check (issue 13, finding 2): readings and events for a device that belongs
 * to another edge are taken out of the batch before the sink and the rules ever see them, so a
 * compromised edge can neither overwrite another village's points nor raise its alarms. They are
 * counted per edge, logged once per batch, and named in the ack (`refused`) so the edge drops them
 * instead of resending; the rest of the batch is stored as usual.
 */
export function keepOwnPoints<R extends { device: string }, E extends { device: string }>(
  owners: DeviceOwners,
  metrics: CloudMetrics,
  log: Logger,
  batch: Points<R, E>,
): { readings: readonly R[]; events: readonly E[]; refused: Refusal[] } {
  const devices = new Set<string>();
  for (const r of batch.readings) devices.add(r.device);
  for (const e of batch.events) devices.add(e.device);
  const foreign = owners.foreignDevices(batch.edgeId, devices);
  if (foreign.size === 0) return { readings: batch.readings, events: batch.events, refused: [] };

  const readings = batch.readings.filter((r) => !foreign.has(r.device));
  const events = batch.events.filter((e) => !foreign.has(e.device));
  const refusedReadings = batch.readings.length - readings.length;
  const refusedEvents = batch.events.length - events.length;
  if (refusedReadings > 0)
    metrics.pointsRefused.inc({ edge: batch.edgeId, kind: 'reading' }, refusedReadings);
  if (refusedEvents > 0) metrics.pointsRefused.inc({ edge: batch.edgeId, kind: 'event' }, refusedEvents);
  log.warn(
    {
      edge: batch.edgeId,
      seq: batch.seq,
      code: NOT_OWNER,
      devices: Object.fromEntries(foreign),
      readings: refusedReadings,
      events: refusedEvents,
    },
    'points for devices of another edge refused',
  );
  const refused = [...foreign.keys()].map((device) => ({
    seq: batch.seq,
    device,
    reason: `${NOT_OWNER}: device ${device} is registered to another edge`,
  }));
  return { readings, events, refused };
}
