import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceEvent, type Reading, decodeBatch } from '@village/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outbox } from '../src/outbox.js';
import { openSqliteOutbox } from '../src/sqlite-outbox.js';

const T0 = Date.UTC(2026, 0, 1);
const RESERVE = 256 * 1024;
const RETRY_MS = 5_000;

/**
 * A real full disk: a 2 MiB tmpfs (needs root, as the CI runs), an outbox on it, and a filler
 * file that the test deletes to give the space back.
 */
describe('outbox on a full disk (SQLITE_FULL / ENOSPC)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-full-'));
  const filler = join(dir, 'filler');
  let clock = T0;
  let outbox: Outbox;
  beforeAll(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    writeFileSync(filler, Buffer.alloc(768 * 1024));
    outbox = openSqliteOutbox({
      path: join(dir, 'outbox.db'),
      edgeId: 'edge-1',
      quotaBytes: 1 << 30, // the disk, not the quota, is the limit here
      groupCommitMs: 0,
      synchronous: 'normal',
      eventReserveBytes: RESERVE,
      diskFullRetryMs: RETRY_MS,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await outbox?.close();
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const readings = (n: number, from: number): Reading[] =>
    Array.from({ length: 200 }, (_, i) => ({
      device: `dev-${i % 10}`,
      metric: 'pm2_5',
      value: i / 10,
      unit: 'µg/m³',
      ts: T0 + n * 200 + from + i,
      quality: 'good',
    }));
  const smoke = (i: number): DeviceEvent => ({
    device: 'smoke-1',
    type: 'smoke',
    severity: 'critical',
    ts: T0 + i,
    data: { i },
  });

  it('refuses telemetry with a typed error, keeps storing events from the reserve, and recovers', async () => {
    let accepted = 0;
    let refusal: unknown;
    for (let n = 0; n < 2_000 && refusal === undefined; n++) {
      await outbox.append(readings(n, 0)).then(
        () => accepted++,
        (err: unknown) => {
          refusal = err;
        },
      );
    }
    expect(accepted).toBeGreaterThan(0);
    expect(refusal).toMatchObject({ name: 'OutboxFullError', code: 'outbox_full', readings: 200 });
    expect(outbox.stats()).toMatchObject({ diskFull: true, pendingReadings: accepted * 200 });

    // Alarms still go in: the reserve is given up for them.
    for (let i = 0; i < 50; i++) await outbox.appendEvent(smoke(i));
    expect(outbox.stats()).toMatchObject({ pendingEvents: 50, eventReserveBytes: 0 });
    // Telemetry is refused at once meanwhile, nothing written.
    await expect(outbox.append(readings(0, 1_000_000))).rejects.toMatchObject({ code: 'outbox_full' });
    // The events are cut and sent.
    outbox.cut({
      now: clock,
      maxReadings: 5_000,
      maxAgeMs: 0,
      uplinkConnected: true,
      historicalAfterMs: 1e9,
    });
    const [first] = outbox.next(1, new Set());
    expect(first!.lane).toBe('event');
    expect(decodeBatch(first!.bytes).events.map((e) => e.data.i)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );

    // Space comes back (the operator freed some): after the retry period the reserve is made
    // again first, then telemetry is taken again.
    rmSync(filler);
    clock += RETRY_MS;
    await outbox.append(readings(0, 2_000_000));
    expect(outbox.stats()).toMatchObject({ diskFull: false, eventReserveBytes: RESERVE });
    expect(statSync(`${join(dir, 'outbox.db')}.reserve`).size).toBe(RESERVE);
  });
});
