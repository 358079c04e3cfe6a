import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEdgeSecret } from '@village/cloud-ingest';
import { fetchMetrics, waitFor } from '@village/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fleet, type FleetCounters, startFleet } from '../../bench/fleet-edges.mjs';
import { freePort, writeOneStationCloud } from '../../bench/village-processes.mjs';
import { CLOUD_BIN, type Proc, startProc } from './harness/processes.js';

// 1,500 protocol-level edges (mqtt.js on the real wire, bench/fleet-edges.mjs), one small batch a
// second each, against the built village-cloud: more batches a second from distinct connections
// than the embedded broker could once take before its ingest deadlocked (about 1,000/s). Every
// batch cut must be acked and committed exactly once.
const EDGES = 1500;
const BATCHES = EDGES * 12;

describe('a fleet of 1,500 edges', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('is acked at its offered load, every batch committed once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-fleet-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const edges = Array.from({ length: EDGES }, (_, i) => ({
      id: `fleet-${String(i).padStart(5, '0')}`,
      ...newEdgeSecret(),
    }));
    const mqttPort = await freePort();
    const cfg = writeOneStationCloud(dir, {
      mqttPort,
      edges: edges.map(({ id, passwordHash }) => ({ id, passwordHash })),
    });
    const cloud: Proc = startProc(CLOUD_BIN, ['--config', cfg], join(dir, 'cloud.log'));
    cleanups.push(() => cloud.stop());
    const ready = await cloud.line((l) => l.msg === 'cloud ready');
    const committed = async () =>
      (await fetchMetrics(`http://127.0.0.1:${ready.httpPort as number}/metrics`)).get(
        'cloud_batches_total{result="committed"}',
      ) ?? 0;

    const fleet: Fleet = startFleet({ url: `mqtt://127.0.0.1:${mqttPort}`, edges, periodMs: 1000 });
    cleanups.push(() => fleet.stop());
    await fleet.connected;
    const total: FleetCounters = await fleet.take();
    const add = async () => {
      const c = await fleet.take();
      total.sent += c.sent;
      total.acked += c.acked;
      total.backlog = c.backlog;
      total.inflight = c.inflight;
      return total;
    };
    // Load on until the fleet has sent BATCHES (about 12 s at 1,500 a second), then let it drain:
    // a stalled cloud leaves batches in flight at the edges until the bound.
    await waitFor('the fleet to send its batches', async () => (await add()).sent >= BATCHES, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await fleet.stopCutting();
    await waitFor(
      'every batch cut to be acked',
      async () => {
        const t = await add();
        return t.backlog === 0 && t.inflight === 0;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify({ ...total, latencies: undefined })}`);
    });
    expect(total.acked).toBe(total.sent);
    // Each batch committed exactly once (a resend, if any, is acked as a duplicate, not counted).
    expect(await committed()).toBe(total.sent);
  });
});
