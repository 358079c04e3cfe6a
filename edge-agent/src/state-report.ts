import { statfs } from 'node:fs/promises';
import type { EdgeReport, Status } from '@village/protocol';
import type { Logger } from '@village/service-kit';
import type { OutboxStats } from './outbox.js';

export interface StateReporterOptions {
  edgeId: string;
  boot: number;
  /** The outbox's epoch field (epochField), spread into each report. */
  epoch: { epoch?: string };
  version: string;
  /** Folder of outbox.db: its file system's free space is reported. */
  dataDir: string;
  intervalMs: number;
  outbox(): OutboxStats;
  drivers(): EdgeReport['drivers'];
  clockOffsetS(): number | undefined;
  /** Sends the report (uplink.publishState); a no-op while disconnected. */
  publish(): void;
  log: Logger;
  now(): number;
}

/** How often the on-change check runs, ms (at most; never more often than the interval). */
const CHANGE_CHECK_MS = 5_000;

/**
 * The edge's state report (Status `report` on up/status): outbox depth and oldest unsent age,
 * drivers, free disk, clock offset, version. Sent after every birth, every `intervalMs`, and on
 * change of what an operator acts on (a driver going down or restarting, the disk filling), so a
 * driver failure is seen within seconds and a steady edge costs one small message a minute.
 */
export function startStateReporter(o: StateReporterOptions) {
  let disk: { free: number; total: number } | null = null;
  const refreshDisk = () =>
    statfs(o.dataDir).then(
      (s) => {
        disk = { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
      },
      (err: Error) =>
        o.log.warn({ err: err.message, dataDir: o.dataDir }, 'statfs of the data folder failed'),
    );
  void refreshDisk();

  const report = (): Status => {
    const s = o.outbox();
    const offset = o.clockOffsetS();
    return {
      state: 'report',
      edgeId: o.edgeId,
      boot: o.boot,
      ...o.epoch,
      ts: o.now(),
      version: o.version,
      report: {
        outbox: {
          pendingReadings: s.pendingReadings + s.batchedReadings,
          pendingEvents: s.pendingEvents,
          oldestUnsentAgeS:
            s.oldestAcceptedAt === null ? null : Math.max(0, (o.now() - s.oldestAcceptedAt) / 1000),
          bytesUsed: s.bytesUsed,
          droppedReadings: s.droppedReadings,
          diskFull: s.diskFull,
        },
        drivers: o.drivers(),
        diskFreeBytes: disk?.free ?? null,
        diskTotalBytes: disk?.total ?? null,
        ...(offset === undefined ? {} : { clockOffsetS: offset }),
      },
    };
  };

  const signature = () =>
    JSON.stringify([o.drivers(), o.outbox().diskFull, disk !== null && disk.free < disk.total * 0.05]);
  let last = signature();
  let lastSentAt = o.now();
  const timer = setInterval(
    () => {
      void refreshDisk().then(() => {
        const now = signature();
        if (now === last && o.now() - lastSentAt < o.intervalMs) return;
        last = now;
        lastSentAt = o.now();
        o.publish();
      });
    },
    Math.min(CHANGE_CHECK_MS, o.intervalMs),
  );
  timer.unref();
  return { report, stop: () => clearInterval(timer) };
}
