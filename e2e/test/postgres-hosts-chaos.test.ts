import {
  type Mosquitto,
  type Postgres,
  type WebhookReceiver,
  startMosquitto,
  startPostgres,
  startWebhookReceiver,
  waitFor,
} from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchTap, TAP_ACL, startBatchTap } from '../../cloud-ingest/test/servers/batch-tap.js';
import { type Influxd, compareWithInflux, influxSink, startInfluxd } from './harness/broker-and-influx.js';
import { type Host, batchesOf, startHost } from './harness/several-hosts.js';
import { type Village, createVillage } from './harness/village.js';

/**
 * Issue 20's "Done means" with two brokers and the rules on: three ingest hosts on PostgreSQL, two
 * real Mosquittos (the edge fails over between them, every host consumes both), a real edge whose
 * wristband dev-1 (the fake driver's first device, of a person living alone) sends an SOS every EVENT_MS, a real webhook receiver
 * as the officers' endpoint. The owner of village v1 is SIGSTOPped past its lease while its
 * escalation deadlines fall due; broker A is SIGKILLed mid-flow and comes back.
 */
const LIMIT = 12_000;
const ACK_TIMEOUT_MS = 5_000;
/** The incident's ack deadline: the town escalation is due this long after it opened. */
const ACK_MS = 2_500;
/** The rules lease of each village partition (ingest.journal.leaseMs). */
const LEASE_MS = 5_000;
const EVENT_MS = 300;
const SECRET = 'hook-secret-e2e';
const PASSWORDS = { ingest: 'pw-ingest-e2e', 'edge-1': 'pw-edge-1-e2e', tap: 'pw-tap-e2e' };
const log = (what: string, data: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ postgresHostsChaos: what, at: new Date().toISOString(), ...data }));

interface AlertsBody {
  alerts?: { key: string; count: number }[];
  error?: { code: string };
}

describe(
  'three hosts, two brokers, rules across hosts: a broker killed, the owner frozen',
  { timeout: 300_000 },
  () => {
    let influxd: Influxd;
    const brokers: Mosquitto[] = [];
    const taps: BatchTap[] = [];
    let pg: Postgres;
    let hook: WebhookReceiver;
    let v: Village;
    const hosts: Host[] = [];
    beforeAll(async () => {
      pg = await startPostgres();
      influxd = await startInfluxd(['village']);
      for (let i = 0; i < 2; i++) {
        const m = await startMosquitto(PASSWORDS, { extraAcl: TAP_ACL('tap') });
        brokers.push(m);
        taps.push(await startBatchTap(m.ingestUrl, 'tap', PASSWORDS.tap));
      }
      process.env.VILLAGE_INGEST_PASSWORD = PASSWORDS.ingest;
      hook = await startWebhookReceiver(SECRET);
      v = await createVillage('postgres-hosts-chaos', {
        registry: {
          people: [{ id: 'p1', name: 'Elder', station: 's1', wristband: 'dev-1', livesAlone: true }],
        },
        edgePassword: PASSWORDS['edge-1'],
      });
    });
    afterAll(async () => {
      for (const h of hosts) {
        if (h.proc.child.exitCode === null) h.proc.child.kill('SIGCONT');
      }
      await v?.edge?.stop();
      for (const h of hosts) await h.proc.stop();
      await v?.cleanup();
      for (const t of taps) await t.close();
      for (const m of brokers) await m.dispose();
      await hook?.close();
      await influxd?.dispose();
      await pg?.stop();
    });

    /** What the edge sent, over both brokers' taps (a batch resent on the other broker counted once). */
    const sent = () => {
      const all = new Map<string, unknown>();
      for (const t of taps) for (const [k, x] of t.readings()) all.set(k, x);
      return all;
    };
    const notices = (reason: string, level?: string) =>
      hook.got.filter((r) => r.body.reason === reason && (level === undefined || r.body.level === level));
    const alertsOn = async (h: Host) => {
      const r = await fetch(`http://127.0.0.1:${h.httpPort}/api/v1/alerts?village=v1`);
      return { status: r.status, body: (await r.json()) as AlertsBody };
    };
    const ownerOf = (h: Host) => h.proc.lines.some((l) => l.msg === 'rules: this host runs the partition');

    it('stores exactly what was accepted, raises one alert for the storm, fires each deadline within 1 s of due', async () => {
      const cloud = {
        rules: { incidents: { ackDeadlineMs: ACK_MS, rearmAfterMs: 600_000 } },
        notify: {
          mqtt: { enabled: false },
          webhooks: [{ id: 'ops', url: hook.url, secret: SECRET, backoffMs: 50, maxBackoffMs: 200 }],
        },
        ingest: { journal: { leaseMs: LEASE_MS } },
      };
      for (const name of ['host-1', 'host-2', 'host-3']) {
        hosts.push(await startHost(v, name, { mosquitto: brokers, influxd, storeUrl: pg.url, cloud }));
      }
      const owner = await waitFor('one host to run village v1', () => hosts.find(ownerOf), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      const others = hosts.filter((h) => h !== owner);
      const [a, b] = brokers as [Mosquitto, Mosquitto];
      await v.startEdge(
        { devices: 10, intervalMs: 50, limit: LIMIT, eventEveryMs: EVENT_MS },
        { batchMaxReadings: 100 },
        { url: undefined, urls: [a.url, b.url], ackTimeoutMs: ACK_TIMEOUT_MS },
      );

      // The first SOS opens the incident on the owner; its opened notice carries the town escalation's due time.
      const opened = await waitFor('the opened notice', () => notices('opened')[0], {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      const dueAt = (opened.body.incident as { deadline: number }).deadline;
      owner.proc.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      log('owner stopped', { owner: owner.name, dueInMs: dueAt - stoppedAt });
      expect(dueAt).toBeGreaterThan(stoppedAt);
      const town = await waitFor('the town escalation', () => notices('escalated', 'town')[0], {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      const county = await waitFor('the county escalation', () => notices('escalated', 'county')[0], {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      log('escalations', {
        owner: owner.name,
        townLateMs: town.at - dueAt,
        countyLateMs: county.at - dueAt - ACK_MS,
      });
      expect(town.at - dueAt).toBeGreaterThanOrEqual(0);
      expect(town.at - dueAt).toBeLessThan(1_000);
      expect(county.at - (dueAt + ACK_MS)).toBeGreaterThanOrEqual(0);
      expect(county.at - (dueAt + ACK_MS)).toBeLessThan(1_000);
      // Frozen past its lease (last renewed up to a third of it before the stop): another host takes v1 over.
      const standby = await waitFor('a standby to take v1 over', () => others.find(ownerOf), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      owner.proc.child.kill('SIGCONT');
      log('owner continued', { standby: standby.name });
      await owner.proc.line((l) => l.msg === 'rules: partition dropped on this host', 30_000);

      // Broker A dies mid-flow (no DISCONNECT, no will): the edge fails over to B, every host keeps consuming B.
      const committed = async () =>
        Promise.all(hosts.map(async (h) => batchesOf(await h.metrics(), 'committed')));
      const beforeKill = await committed();
      await a.kill();
      log('broker A killed');
      await waitFor(
        'every host to commit batches from broker B alone',
        async () => (await committed()).every((n, i) => n > beforeKill[i]! + 2),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      await a.restart();
      log('broker A restarted');

      await v.allAcked(LIMIT, 180_000);
      const diff = await compareWithInflux(influxd, sent());
      const perHost = await committed();
      const edge = await v.edgeMetrics();
      log('done', {
        ...diff,
        committedPerHost: perHost,
        edgeRetries: edge.get('edge_batches_retried_total'),
      });
      expect(diff).toEqual({
        sent: LIMIT,
        stored: LIMIT,
        influxCount: LIMIT,
        missing: [],
        extra: [],
        different: [],
      });
      // The storm was spread over all hosts (shared subscriptions on both brokers)...
      for (const n of perHost) expect(n).toBeGreaterThan(5);
      // ...and is one alert, written by the holder of v1 into the shared views and so shown by every
      // host, which counted every SOS the edge sent once, whichever host took it and however often it was resent.
      await v.edge!.stop();
      const sosSent = () =>
        new Set(
          taps.flatMap((t) =>
            [...t.batches.values()].flatMap((bt) =>
              bt.events.filter((e) => e.type === 'sos').map((e) => e.ts),
            ),
          ),
        ).size;
      expect(sosSent()).toBeGreaterThan(10);
      const answers = await waitFor(
        'every host to show the alert counting every SOS sent',
        async () => {
          const all = await Promise.all(hosts.map(alertsOn));
          const counts = all.map((r) => r.body.alerts?.find((al) => al.key.includes('elder.sos'))?.count);
          return counts.every((c) => c === sosSent()) ? all : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      log('alerts', { sos: sosSent(), answers });
      for (const r of answers) {
        expect(r.status).toBe(200);
        // (Stopping the edge raised its edge.offline: not the storm's.)
        const storm = r.body.alerts!.filter((al) => al.key.includes('sos'));
        expect(storm.map((al) => al.key)).toEqual(['elder.sos|p1']);
      }
      // One incident for the storm, opened once and escalated to town once, whichever host sent it.
      const ofStorm = (r: { body: Record<string, unknown> }) =>
        (r.body.incident as { kind?: string } | undefined)?.kind === 'elder.sos';
      expect(notices('opened').filter(ofStorm)).toHaveLength(1);
      expect(notices('escalated', 'town').filter(ofStorm)).toHaveLength(1);
      const keys = hook.got.map((r) => r.delivery);
      expect(new Set(keys).size).toBe(keys.length);
    });
  },
);
