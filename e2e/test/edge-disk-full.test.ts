import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Village, createVillage } from './harness/village.js';

/**
 * The edge's data folder on a 4 MiB tmpfs (needs root, as the CI runs), and no cloud: the edge
 * buffers, as in an outage, until its disk is full.
 */
describe('the edge on a full disk', () => {
  let v: Village;
  let dataDir: string;
  beforeAll(async () => {
    v = await createVillage('edge-disk-full', { edgeUrl: `mqtt://127.0.0.1:${await freePort()}` });
    dataDir = join(v.dir, 'edge', 'data');
    mkdirSync(dataDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dataDir]);
  });
  afterAll(async () => {
    await v?.edge?.stop();
    if (dataDir) execFileSync('umount', [dataDir]);
    await v?.cleanup();
  });

  it('refuses telemetry with a counted error, keeps storing events, and stays up', async () => {
    await v.startEdge(
      [
        // Telemetry that fills the disk (its driver is restarted with backoff when refused) ...
        { kind: 'fake', id: 'fake', prefix: 'dev-', devices: 20, intervalMs: 10 },
        // ... and an alarm source: one reading at start, then an event every 100 ms.
        {
          kind: 'fake',
          id: 'alarms',
          prefix: 'smoke-',
          devices: 1,
          intervalMs: 10,
          limit: 1,
          eventEveryMs: 100,
        },
      ],
      { batchMaxReadings: 500 }, // the default reserve, 1 MiB
    );
    await waitFor(
      'the disk to fill: telemetry refused',
      async () => {
        const m = await v.edgeMetrics();
        return (
          (m.get('edge_readings_refused_total{driver="fake",reason="disk_full"}') ?? 0) > 0 &&
          m.get('edge_outbox_disk_full') === 1
        );
      },
      { timeoutMs: 60_000 },
    );
    // Events go on into the room left, then into the reserve once nothing else fits ...
    const reserveGiven = await waitFor('the reserve given up to events', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_outbox_event_reserve_bytes') === 0 ? m : undefined;
    });
    // ... and keep being stored from it while telemetry is refused.
    const eventsThen = reserveGiven.get('edge_events_accepted_total')!;
    await waitFor('events stored from the reserve', async () => {
      const m = await v.edgeMetrics();
      return m.get('edge_events_accepted_total')! >= eventsThen + 5;
    });
    expect(v.edge!.lines.some((l) => l.code === 'outbox_full' && typeof l.refused === 'number')).toBe(true);
    // Alive and answering.
    expect(v.edge!.child.exitCode).toBeNull();
    const health = await fetch(`http://127.0.0.1:${v.healthPort}/health`);
    expect(health.status).toBe(503);
    // No cloud listens: the uplink's reason comes first; the disk shows in the outbox part.
    const body = (await health.json()) as { reason: string; outbox: { diskFull: boolean } };
    expect(body.reason).toBe('unreachable');
    expect(body.outbox.diskFull).toBe(true);
  });
});
