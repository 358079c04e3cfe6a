#!/usr/bin/env node
// The shared alert and incident views (SharedStore.ruleViews) on a real PostgreSQL 15 (test-kit's
// startPostgres, durable as shipped): what a holder's commit adds (`put` of one incident and one
// alert, as an SOS step writes them) and what a county officer's list costs on any host
// (`incidents` and `alerts` of `--villages` villages, newest 100 and 200, over `--incidents`
// incidents each with its alert). Prints JSON lines.
// Build first: npx turbo run build --filter @village/cloud-ingest --filter @village/test-kit
//   node bench/rule-views.mjs [--villages 50] [--incidents 2000] [--calls 200]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { timed } from './latency.mjs';
import { openPostgresSharedStore, startPostgres } from './shared-stores.mjs';

const { values: args } = parseArgs({
  options: {
    villages: { type: 'string', default: '50' },
    incidents: { type: 'string', default: '2000' },
    calls: { type: 'string', default: '200' },
  },
});
const VILLAGES = Number(args.villages);
const INCIDENTS = Number(args.incidents);
const CALLS = Number(args.calls);
const out = (o) => process.stdout.write(`${JSON.stringify({ bench: 'rule-views', ...o })}\n`);
const T = Date.UTC(2026, 11, 1);

const alert = (v, n) => ({
  id: n,
  key: `elder.sos|p${n}`,
  rule: 'elder.sos',
  severity: 'critical',
  state: 'active',
  village: v,
  station: `${v}-s`,
  device: `wb-${n}`,
  person: `p${n}`,
  message: `SOS from p${n}`,
  text: { kind: 'sos', person: `p${n}`, device: `wb-${n}`, station: `${v}-s` },
  count: 1,
  raisedAt: T + n,
  lastAt: T + n,
  clearedAt: null,
  data: { since: T + n },
});
const incident = (v, n) => ({
  id: `inc-${v}-${n}`,
  state: 'open',
  severity: 'critical',
  village: v,
  station: `${v}-s`,
  person: `p${n}`,
  subject: `person:p${n}`,
  kind: 'elder.sos',
  situation: `inc-${v}-${n}`,
  priority: 1,
  title: `SOS from p${n}`,
  text: null,
  openedAt: T + n,
  receivedAt: T + n,
  eventAt: T + n,
  deadline: T + n + 180_000,
  level: 'village',
  escalations: [],
  late: false,
  delayMs: 0,
  acknowledgedAt: null,
  acknowledgedBy: null,
  firstResponseMs: null,
  responses: [{ alert: `elder.sos|p${n}`, at: T + n, respondedAt: null, responseMs: null }],
  arrivedAt: null,
  arrivedBy: null,
  arrivalMs: null,
  resolvedAt: null,
  resolvedBy: null,
  outcome: null,
  note: null,
  alerts: [n],
  alertKeys: [`elder.sos|p${n}`],
  people: [`p${n}`],
  devices: [`wb-${n}`],
  audit: [{ at: T + n, actor: 'rules', action: 'opened' }],
});

const pg = await startPostgres({ database: 'bench' });
try {
  const [holder, reader] = [
    await openPostgresSharedStore({ url: pg.url, poolSize: 2 }),
    await openPostgresSharedStore({ url: pg.url, poolSize: 2 }),
  ];
  const village = (n) => `v${n % VILLAGES}`;
  const puts = Array.from(
    { length: INCIDENTS },
    (_, n) => () =>
      holder.ruleViews.put(
        village(n),
        1,
        { alerts: [alert(village(n), n)], incidents: [incident(village(n), n)] },
        T + n,
      ),
  );
  const base = { villages: VILLAGES, incidents: INCIDENTS };
  out({ ...base, case: 'put one incident and its alert', ...(await timed(puts)), load1: loadavg()[0] });
  const county = new Set(Array.from({ length: VILLAGES }, (_, v) => `v${v}`));
  const reads = (f) => Array.from({ length: CALLS }, () => f);
  out({
    ...base,
    case: 'county incidents, newest 200',
    ...(await timed(reads(() => reader.ruleViews.incidents({ villages: county, limit: 200 })))),
    load1: loadavg()[0],
  });
  out({
    ...base,
    case: 'county active alerts, newest 100',
    ...(await timed(reads(() => reader.ruleViews.alerts({ villages: county, state: 'active', limit: 100 })))),
    load1: loadavg()[0],
  });
  out({
    ...base,
    case: 'one incident',
    ...(await timed(reads(() => reader.ruleViews.incident('inc-v1-1')))),
    load1: loadavg()[0],
  });
  await holder.close();
  await reader.close();
} finally {
  await pg.stop();
}
