#!/usr/bin/env node
// How late escalation deadlines fire when any host fires them (docs/rules-across-hosts.md): a
// real PostgreSQL 15 (test-kit's startPostgres), one saved partition state with N open incidents,
// N deadline rows due spread over the next `--spread` ms, and `--firers` deadline firers (a Pool
// each, as that many hosts; 200 ms rounds) sending through the real webhook notifier to test-kit's
// webhook receiver. Lateness = the receiver's arrival time minus the deadline. Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/rules-deadlines.mjs [--deadlines 300] [--spread 3000] [--firers 1,2,3]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const { startPostgres, startWebhookReceiver, waitFor } = await import(
  join(root, 'test-kit', 'dist', 'index.js')
);
const dist = join(root, 'cloud-ingest', 'dist');
const { openPostgresSharedStore } = await import(join(dist, 'shared-store', 'postgres-shared-store.js'));
const { openDatabase } = await import(join(dist, 'store', 'open-database.js'));
const { startDeadlineFirer } = await import(join(dist, 'rules-runtime', 'deadline-firer.js'));
const { escalationKey } = await import(join(dist, 'rules-runtime', 'escalation-deadline.js'));
const { encodeState } = await import(join(dist, 'rules-runtime', 'partition-state.js'));
const { compileRulesSetup } = await import(join(dist, 'rules-runtime', 'rules-from-registry.js'));
const { rulesSectionSchema } = await import(join(dist, 'rules-runtime', 'rules-config.js'));
const { parseRegistry } = await import(join(dist, 'registry-file.js'));
const { createNotificationDispatcher } = await import(join(dist, 'notify', 'notification-dispatcher.js'));
const { createWebhookNotifier } = await import(join(dist, 'notify', 'webhook-notifier.js'));
const { createState } = await import(join(root, 'rules', 'dist', 'index.js'));
const { pino } = await import('pino');
const { Registry } = await import('prom-client');

const { values: args } = parseArgs({
  options: {
    deadlines: { type: 'string', default: '300' },
    spread: { type: 'string', default: '3000' },
    firers: { type: 'string', default: '1,2,3' },
  },
});
const N = Number(args.deadlines);
const SPREAD = Number(args.spread);
const FIRERS = args.firers.split(',').map(Number);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'rules-deadlines', ...o })}\n`);
const log = pino({ level: 'silent' });
const registryFile = parseRegistry({
  counties: [
    {
      id: 'c1',
      name: 'c',
      towns: [
        {
          id: 't1',
          name: 't',
          villages: [{ id: 'v1', name: 'v', stations: [{ id: 's1', name: 's', edges: ['e1'] }] }],
        },
      ],
    },
  ],
});
const setup = compileRulesSetup(rulesSectionSchema.parse({}), registryFile);

function incident(id, deadline) {
  return {
    id,
    village: 'v1',
    station: 's1',
    subject: `device:${id}`,
    kind: 'event.smoke',
    situation: id,
    status: 'open',
    severity: 'critical',
    priority: 1,
    alerts: [],
    people: [],
    devices: [],
    openedAt: deadline - 180_000,
    eventAt: deadline - 180_000,
    lastEventAt: deadline - 180_000,
    lastRearmEventAt: deadline - 180_000,
    late: false,
    delayMs: 0,
    lastAlertAt: deadline - 180_000,
    level: 0,
    levelName: 'village',
    deadline,
    acknowledgedAt: null,
    acknowledgedBy: null,
    firstResponseMs: null,
    responses: [],
    arrivedAt: null,
    arrivedBy: null,
    arrivalMs: null,
    arrivalDeadline: null,
    resolvedAt: null,
    resolvedBy: null,
    outcome: null,
    note: null,
    audit: [],
  };
}

const pg = await startPostgres({ database: 'bench' });
const dir = mkdtempSync(join(tmpdir(), 'bench-rules-deadlines-'));
let run = 0;
try {
  for (const firers of FIRERS) {
    run++;
    const hook = await startWebhookReceiver('bench-secret');
    const stores = [];
    for (let f = 0; f <= firers; f++)
      stores.push(await openPostgresSharedStore({ url: pg.url, poolSize: 4 }));
    const [writer, ...hosts] = stores;
    const partition = `v1-run${run}`;
    const start = Date.now() + 500;
    const state = createState(setup.rules, start);
    const due = new Map();
    for (let i = 0; i < N; i++) {
      const id = `inc-${partition}-${i + 1}`;
      const at = start + Math.floor((i * SPREAD) / N);
      state.incidents.open[id] = incident(id, at);
      due.set(id, at);
    }
    const lease = await writer.acquireLease(partition, 'bench-writer', 600_000, Date.now());
    await writer.saveRulesState(partition, lease.epoch, { cursor: 0, state: encodeState(state) });
    for (const [id, at] of due)
      await writer.scheduleDeadline({
        key: escalationKey(id, 'town', at),
        partition,
        dueAt: at,
        payload: { incidentId: id, village: 'v1', level: 'town' },
      });
    const running = hosts.map((store, h) => {
      const db = openDatabase(join(dir, `run${run}-host${h}.db`));
      const registry = new Registry();
      const dispatcher = createNotificationDispatcher({
        db,
        notifiers: [
          createWebhookNotifier({
            id: 'bench',
            url: hook.url,
            secret: 'bench-secret',
            maxAttempts: 3,
            backoffMs: 50,
            maxBackoffMs: 200,
            timeoutMs: 5_000,
          }),
        ],
        log,
        now: Date.now,
        registry,
      });
      const firer = startDeadlineFirer({
        store,
        rules: setup.rules,
        setup,
        dispatcher,
        log,
        registry,
        now: Date.now,
        intervalMs: 200,
      });
      return { db, dispatcher, firer };
    });
    const town = () => hook.got.filter((r) => r.body.level === 'town' && r.body.reason === 'escalated');
    await waitFor('every town escalation delivered', () => town().length >= N, {
      timeoutMs: SPREAD + 60_000,
      intervalMs: 50,
    });
    const late = town()
      .map((r) => r.at - due.get(r.body.incidentId))
      .sort((a, b) => a - b);
    const pct = (p) => late[Math.min(late.length - 1, Math.floor((p / 100) * late.length))];
    out({
      firers,
      deadlines: N,
      spreadMs: SPREAD,
      delivered: town().length,
      duplicates: town().length - new Set(town().map((r) => r.body.incidentId)).size,
      earlyMs: Math.max(0, -late[0]),
      lateP50Ms: pct(50),
      lateP99Ms: pct(99),
      lateMaxMs: late[late.length - 1],
      load1: loadavg()[0],
    });
    for (const r of running) {
      await r.firer.close();
      await r.dispatcher.close();
      r.db.close();
    }
    for (const s of stores) await s.close();
    await hook.close();
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
