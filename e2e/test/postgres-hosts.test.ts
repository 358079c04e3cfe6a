import { decodeBatch } from '@village/protocol';
import { type Postgres, startPostgres, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresSharedStore } from '../../cloud-ingest/dist/shared-store/postgres-shared-store.js';
import {
  type BatchTap,
  type Influxd,
  type Mosquitto,
  compareWithInflux,
  externalVillage,
  influxSink,
  startBrokerWithTap,
  startInfluxd,
} from './harness/broker-and-influx.js';
import { type Host, batchesOf, startHost } from './harness/several-hosts.js';
import { type Village, createVillage } from './harness/village.js';

// 10 devices × 2 metrics every 50 ms, small batches: about a minute of data, so the faults below
// fall while the edge is still generating.
const LIMIT = 24_000;
/** The edge's first resend of an unacked batch, ms. */
const ACK_TIMEOUT_MS = 5_000;
const log = (what: string, data: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ postgresHosts: what, at: new Date().toISOString(), ...data }));

describe(
  'three ingest hosts on PostgreSQL and InfluxDB: SIGKILL, SIGSTOP, a PostgreSQL restart, an InfluxDB outage',
  {
    timeout: 480_000,
  },
  () => {
    let influxd: Influxd;
    let mosquitto: Mosquitto;
    let tap: BatchTap;
    let pg: Postgres;
    let v: Village;
    const hosts: Host[] = [];
    beforeAll(async () => {
      pg = await startPostgres();
      influxd = await startInfluxd(['village']);
      ({ mosquitto, tap } = await startBrokerWithTap());
      v = await createVillage('postgres-hosts', externalVillage(mosquitto, influxSink(influxd)));
    });
    afterAll(async () => {
      for (const h of hosts) {
        if (h.proc.child.exitCode === null) h.proc.child.kill('SIGCONT');
      }
      await v?.edge?.stop();
      for (const h of hosts) await h.proc.stop();
      await v?.cleanup();
      await tap?.close();
      await mosquitto?.dispose();
      await influxd?.dispose();
      await pg?.stop();
    });

    it('stores exactly what the edge accepted, journaled once per batch, each host in its own folder', async () => {
      // The password through ${ENV}, as a deployment keeps it out of cloud.yaml (trust auth takes any).
      process.env.VILLAGE_PG_PASSWORD = 'pw-pg-e2e';
      const storeUrl = pg.url.replace('village@', 'village:${VILLAGE_PG_PASSWORD}@');
      // A short retry bound, so a commit during the InfluxDB outage fails (and is not acked) soon.
      const influx = { maxRetries: 2, maxRetryTimeMs: 2_000, minRetryDelayMs: 200, timeoutMs: 2_000 };
      for (const name of ['host-1', 'host-2', 'host-3']) {
        hosts.push(await startHost(v, name, { mosquitto, influxd, storeUrl, influx }));
      }
      const [h1, h2, h3] = hosts as [Host, Host, Host];
      await v.startEdge(
        { devices: 10, intervalMs: 50, limit: LIMIT },
        { batchMaxReadings: 100 },
        { ackTimeoutMs: ACK_TIMEOUT_MS },
      );
      const committedOn = async (h: Host) => batchesOf(await h.metrics(), 'committed');

      await waitFor(
        'every host to commit batches',
        async () => (await Promise.all(hosts.map(committedOn))).every((n) => n >= 3),
        { timeoutMs: 60_000, intervalMs: 200 },
      );

      // SIGKILL host-1 mid-flow: what it had taken and not acked comes back as the edge's resends.
      await h1.proc.kill9();
      log('host-1 killed');

      // SIGSTOP host-2 past the edge's ack timeout: its batches are resent, and the other hosts commit them.
      const retried = async () => (await v.edgeMetrics()).get('edge_batches_retried_total') ?? 0;
      const retriedBefore = await retried();
      h2.proc.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      log('host-2 stopped');
      await waitFor(
        'the ack timeout to pass with host-2 stopped, and the edge to resend',
        async () => Date.now() - stoppedAt > ACK_TIMEOUT_MS && (await retried()) > retriedBefore,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      h2.proc.child.kill('SIGCONT');
      log('host-2 continued');

      // PostgreSQL restarts under the hosts: their calls fail while it is down, nothing is acked then.
      const beforeRestart = await committedOn(h3);
      await pg.restart();
      log('postgres restarted');
      await waitFor(
        'host-3 to commit again after the restart',
        async () => (await committedOn(h3)) > beforeRestart,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );

      // InfluxDB down until a commit failed: the seq must not be recorded for points InfluxDB never took.
      const failed = async () =>
        batchesOf(await h3.metrics(), 'failed') + batchesOf(await h2.metrics(), 'failed');
      const failedBefore = await failed();
      await influxd.stop();
      log('influxd stopped');
      await waitFor('a commit to fail while InfluxDB is down', async () => (await failed()) > failedBefore, {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      await influxd.start();
      log('influxd started');

      // host-1 comes back on its own folder and client id (its broker session drains to it).
      await h1.restart();
      log('host-1 restarted');

      await v.allAcked(LIMIT, 240_000);

      const edge = await v.edgeMetrics();
      const diff = await compareWithInflux(influxd, tap.readings());
      // The journal: one row per batch the edge sent, however often it was resent or written.
      const store = await openPostgresSharedStore({ url: pg.url });
      const rows = [];
      try {
        for (const partition of await store.partitions())
          rows.push(...(await store.readJournal(partition, 0, 1e6)));
      } finally {
        await store.close();
      }
      const journaled = rows.map((r) => `${r.edge}|${r.seq}`);
      const journaledReadings = rows.reduce((n, r) => n + decodeBatch(r.batch).readings.length, 0);
      const perHost = await Promise.all(hosts.map(async (h) => batchesOf(await h.metrics(), 'duplicate')));
      const [shown] = await influxd.query('SHOW MEASUREMENTS', 'village');
      const measurements = (shown?.series?.[0]?.values ?? []).map((m) => m[0]);
      log('done', {
        ...diff,
        measurements,
        journalRows: rows.length,
        tapBatches: tap.batches.size,
        edgeRetries: edge.get('edge_batches_retried_total'),
        duplicatesPerHost: perHost,
      });
      expect(diff).toEqual({
        sent: LIMIT,
        stored: LIMIT,
        influxCount: LIMIT,
        missing: [],
        extra: [],
        different: [],
      });
      // Every host wrote the devices under the kind the edge's birth names: each host has its own
      // registry, so each must get every birth (a host without it wrote 'unknown', and a batch
      // rewritten by two hosts became two points).
      expect(measurements).toEqual(['fake']);
      expect(new Set(journaled).size).toBe(journaled.length);
      expect(new Set(journaled)).toEqual(new Set(tap.batches.keys()));
      expect(journaledReadings).toBe(LIMIT);
      // Gapless positions in the one partition (the edge's village, v1).
      expect(rows.map((r) => r.partition)).toEqual(rows.map(() => 'v1'));
      expect(rows.map((r) => r.position)).toEqual(rows.map((_, i) => i + 1));
    });

    it("a command sent through one host is completed by the edge's result, whichever host the result reaches", async () => {
      const [h1, h2] = hosts as [Host, Host];
      const url = (h: Host, path: string) => `http://127.0.0.1:${h.httpPort}${path}`;
      const resultsOn = async (h: Host) =>
        [...(await h.metrics())]
          .filter(([k]) => k.startsWith('cloud_command_results_total{'))
          .reduce((n, [k, x]) => (k.includes('result="unknown"') ? n : n + x), 0);
      const before = await Promise.all(hosts.map(resultsOn));
      // Six commands through host-1's API; the fake driver takes none, so each result is an error.
      const ids: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const res = await fetch(url(h1, '/api/v1/commands'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ device: `dev-${i}`, action: 'on', params: {} }),
        });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { command: { id: string } }).command.id);
      }
      type Row = { id: string; state: string; errorCode: string | null };
      const seen = await waitFor(
        'every command completed, as host-1 and host-2 show it',
        async () => {
          const rows = await Promise.all(
            ids.flatMap((id) =>
              [h1, h2].map(
                async (h) =>
                  ((await (await fetch(url(h, `/api/v1/commands/${id}`))).json()) as { command: Row })
                    .command,
              ),
            ),
          );
          return rows.every((r) => r.state !== 'sent') ? rows : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(seen.map((r) => [r.state, r.errorCode])).toEqual(seen.map(() => ['error', 'no_commands']));
      // The shared subscription spread the results over the hosts (per host each result counted once).
      const applied = (await Promise.all(hosts.map(resultsOn))).map((n, i) => n - before[i]!);
      log('command results per host', { applied });
      expect(applied.reduce((a, b) => a + b, 0)).toBe(6);
      expect(applied.filter((n) => n > 0).length).toBeGreaterThan(1);
    });
  },
);
