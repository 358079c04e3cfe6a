// Fleet bench: N protocol-level edges (bench/fleet-edges.mjs) against the built village-cloud
// (embedded broker, SQLite sink, or with --sink influx a real influxd started here), each cutting one batch every --period ms. Prints JSON lines:
// the time for all N to connect, then one line per --sample seconds and a summary over the run
// after --warmup: ack rate, p50/p99 ack latency (publish → the cloud's ack), the cloud's CPU
// (cores, from /proc/PID/stat) and RSS, and what waits at the edges (backlog, in flight).
//
//   node bench/fleet.mjs --edges 1200 --period 1000 --seconds 30
//   node bench/fleet.mjs --edges 300 --sink influx               # Debian's influxd 1.6.7, in a temp folder
//   node bench/fleet.mjs --edges 5000 --reconnect            # also: all N drop and reconnect
//   node bench/fleet.mjs --edges 5000 --resend-backoff       # the edge's resend backoff (without: a fixed timeout)
//   node bench/fleet.mjs --cloud-bin tmp/cloud-before/dist/bin/village-cloud.js --hash scrypt
//   node bench/fleet.mjs --edges 1000 --hosts 2               # several hosts, below
//
// --hosts N (1..3): instead of one embedded-broker cloud, one Mosquitto (the shipped conf, every
// edge a password in its file), one PostgreSQL, one influxd and N `village-cloud` hosts with
// `store: { kind: postgres }` (bench/postgres-hosts.mjs, as docs/scaling.md "Several hosts");
// the fleet connects to the Mosquitto. CPU and RSS are then per host (and summed).
//
// --hash sha256 (default) gives each edge its own `village-cloud new-edge-secret`-style secret;
// --hash scrypt gives every edge the same `hash-password` hash (the only format older builds
// accept), so each CONNECT costs one scrypt there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMosquitto, startPostgres, startInfluxd as startTestInfluxd } from '@village/test-kit';
import mqtt from 'mqtt';
import { startFleet } from './fleet-edges.mjs';
import { startInfluxd } from './influxd.mjs';
import { percentile } from './latency.mjs';
import { startPostgresHosts } from './postgres-hosts.mjs';
import { CLOUD, cpuTicks, freePort, startBin, stopAll, writeOneStationCloud } from './village-processes.mjs';

const { values: a } = parseArgs({
  options: {
    edges: { type: 'string', default: '1000' },
    period: { type: 'string', default: '1000' },
    readings: { type: 'string', default: '4' },
    window: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    sample: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1' },
    hash: { type: 'string', default: 'sha256' },
    sink: { type: 'string', default: 'sqlite' },
    hosts: { type: 'string', default: '0' },
    'cloud-bin': { type: 'string', default: CLOUD },
    reconnect: { type: 'boolean', default: false },
    'resend-backoff': { type: 'boolean', default: false },
    // e.g. --cloud-flag=--cpu-prof --cloud-flag=--cpu-prof-dir=/tmp/prof
    'cloud-flag': { type: 'string', multiple: true, default: [] },
  },
});
const n = Number(a.edges);
const periodMs = Number(a.period);
const hosts = Number(a.hosts);
if (![0, 1, 2, 3].includes(hosts)) {
  process.stderr.write(`--hosts ${a.hosts}: give 1, 2 or 3 (or leave it out for the embedded broker)\n`);
  process.exit(2);
}

// Each edge holds one socket here and one in the cloud (a separate process with the same limit).
const fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
if (fdLimit < n + 1000) {
  process.stderr.write(
    `open-file limit ${fdLimit} is too low for ${n} edges: run with ulimit -n ${n + 2000}\n`,
  );
  process.exit(2);
}

const edges = await credentials(n, a.hash);
const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
const { url, clouds, brokerPid, brokerDropped, stopServers } =
  hosts > 0 ? await startSeveralHosts() : await startEmbedded();
const pids = clouds.map((c) => c.child.pid);

const fleet = startFleet({
  url,
  edges,
  periodMs,
  readings: Number(a.readings),
  window: Number(a.window),
  workers: Number(a.workers),
  resendBackoff: a['resend-backoff'],
});
const { connectMs } = await fleet.connected;
print({ phase: 'connected', edges: n, hosts, hash: a.hash, connectMs: Math.round(connectMs) });

const sampleMs = Number(a.sample) * 1000;
const endAt = Date.now() + Number(a.seconds) * 1000;
const warmEnd = Date.now() + Number(a.warmup) * 1000;
await fleet.take();
let cpu = pids.map(cpuTicks);
let brokerCpu = brokerPid ? cpuTicks(brokerPid) : 0;
let groups = await commitGroups();
let fleetCpuUs = cpuUs();
let at = performance.now();
const run = {
  fleetCpu: 0,
  acked: 0,
  latencies: [],
  cpuTicks: pids.map(() => 0),
  ms: 0,
  resent: 0,
  peakRss: pids.map(() => 0),
  brokerTicks: 0,
};
let last;
while (Date.now() < endAt) {
  await new Promise((r) => setTimeout(r, Math.min(sampleMs, endAt - Date.now())));
  const c = await fleet.take();
  const nowCpu = pids.map(cpuTicks);
  const nowBrokerCpu = brokerPid ? cpuTicks(brokerPid) : 0;
  const now = performance.now();
  const ms = now - at;
  const rss = pids.map(rssMb);
  const nowGroups = await commitGroups();
  const nowFleetCpu = cpuUs();
  last = {
    phase: 'sample',
    edges: n,
    ackRate: Math.round((c.acked * 1000) / ms),
    p50Ms: round(percentile(c.latencies, 0.5)),
    p99Ms: round(percentile(c.latencies, 0.99)),
    cloudCpu: round((sum(nowCpu) - sum(cpu)) / 100 / (ms / 1000), 2),
    rssMb: sum(rss),
    ...(hosts > 0 && {
      hostCpu: nowCpu.map((t, i) => round((t - cpu[i]) / 100 / (ms / 1000), 2)),
      hostRssMb: rss,
      brokerCpu: round((nowBrokerCpu - brokerCpu) / 100 / (ms / 1000), 2),
    }),
    // This process (the fleet's worker threads): when it nears its cores, the clients are the bound.
    fleetCpu: round((nowFleetCpu - fleetCpuUs) / 1e6 / (ms / 1000), 2),
    backlog: c.backlog,
    inflight: c.inflight,
    resent: c.resent,
    batchesPerCommit:
      nowGroups.count > groups.count
        ? round((nowGroups.sum - groups.sum) / (nowGroups.count - groups.count))
        : null,
  };
  print(last);
  groups = nowGroups;
  fleetCpuUs = nowFleetCpu;
  if (Date.now() > warmEnd) {
    run.fleetCpu += last.fleetCpu * ms;
    run.acked += c.acked;
    for (const l of c.latencies) run.latencies.push(l);
    run.cpuTicks = run.cpuTicks.map((t, i) => t + nowCpu[i] - cpu[i]);
    run.ms += ms;
    run.resent += c.resent;
    run.brokerTicks += nowBrokerCpu - brokerCpu;
  }
  run.peakRss = run.peakRss.map((r, i) => Math.max(r, rss[i]));
  cpu = nowCpu;
  brokerCpu = nowBrokerCpu;
  at = now;
}
const summary = {
  sink: hosts > 0 ? 'influx' : a.sink,
  phase: 'summary',
  edges: n,
  hosts,
  periodMs,
  readingsPerBatch: Number(a.readings),
  hash: a.hash,
  resendBackoff: a['resend-backoff'],
  offeredPerS: Math.round((n * 1000) / periodMs),
  ackRate: Math.round((run.acked * 1000) / run.ms),
  p50Ms: round(percentile(run.latencies, 0.5)),
  p99Ms: round(percentile(run.latencies, 0.99)),
  cloudCpu: round(sum(run.cpuTicks) / 100 / (run.ms / 1000), 2),
  // The cloud's CPU per acked batch: what the box's cores bound, whatever else runs beside it.
  cloudCpuMsPerBatch: run.acked > 0 ? round((sum(run.cpuTicks) * 10) / run.acked, 3) : null,
  peakRssMb: sum(run.peakRss),
  ...(hosts > 0 && {
    perHost: run.cpuTicks.map((t, i) => ({
      cpu: round(t / 100 / (run.ms / 1000), 2),
      peakRssMb: run.peakRss[i],
    })),
    // Mosquitto (one thread): the edges' CONNECTs, their batches and the acks all pass through it.
    brokerCpu: round(run.brokerTicks / 100 / (run.ms / 1000), 2),
  }),
  fleetCpu: round(run.fleetCpu / run.ms, 2),
  loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  connectMs: Math.round(connectMs),
  resent: run.resent,
  backlogAtEnd: last?.backlog,
  inflightAtEnd: last?.inflight,
};
if (a.reconnect) {
  const before = sum(pids.map(cpuTicks));
  const { reconnectMs } = await fleet.reconnect();
  summary.reconnectMs = Math.round(reconnectMs);
  // An upper bound of the cloud's CPU per CONNECT (batches keep flowing meanwhile; with --hosts
  // the CONNECTs go to Mosquitto, so this is the hosts' share only).
  summary.reconnectCloudCpuMsPerEdge = round(((sum(pids.map(cpuTicks)) - before) * 10) / n, 2);
}
if (brokerDropped) summary.brokerDropped = await brokerDropped();
// What the cloud logged most over the whole run (start-up and connects included).
summary.cloudLogTop = [...clouds[0].logged].sort((x, y) => y[1] - x[1]).slice(0, 5);
print(summary);
await fleet.stop();
await stopAll();
await stopServers();
rmSync(dir, { recursive: true, force: true });

/** One cloud with its embedded broker (SQLite, or influxd with --sink influx). */
async function startEmbedded() {
  const influxd = a.sink === 'influx' ? await startInfluxd(dir) : undefined;
  const mqttPort = await freePort();
  const cfg = writeOneStationCloud(dir, {
    mqttPort,
    edges: edges.map(({ id, passwordHash }) => ({ id, passwordHash })),
    // The broker's socket cap (mqtt.limits.maxConnections, default 2,000) would hold the rest out.
    extra: {
      mqtt: { host: '127.0.0.1', port: mqttPort, limits: { maxConnections: n + 1000 } },
      ...(influxd && { sink: { kind: 'influx', url: influxd.url, api: 'v1', database: 'village' } }),
    },
  });
  const cloud = startBin(a['cloud-bin'], cfg, 'cloud ready', a['cloud-flag']);
  const { httpPort } = await cloud.ready;
  return {
    url: `mqtt://127.0.0.1:${mqttPort}`,
    clouds: [{ ...cloud, httpPort }],
    stopServers: async () => influxd?.stop(),
  };
}

/** --hosts N: Mosquitto, PostgreSQL, influxd and N ingest hosts (bench/postgres-hosts.mjs). */
async function startSeveralHosts() {
  const ingestPassword = 'bench-ingest';
  const pg = await startPostgres();
  const influxd = await startTestInfluxd(['village']);
  const mosquitto = await startMosquitto(
    Object.fromEntries([
      ['ingest', ingestPassword],
      ['bench-sys', ingestPassword],
      ...edges.map((e) => [e.id, e.secret]),
    ]),
    // The bench reads the broker's drop counter ($SYS, every 2 s instead of 10).
    { extraConf: 'sys_interval 2', extraAcl: 'user bench-sys\ntopic read $SYS/#\n' },
  );
  process.env.VILLAGE_INGEST_PASSWORD = ingestPassword;
  const clouds = await startPostgresHosts({
    dir,
    hosts,
    edges: edges.map((e) => e.id),
    pg,
    influxUrl: influxd.url,
    database: 'village',
    mosquitto,
    group: 'fleet',
    flags: a['cloud-flag'],
  });
  // The broker's pid, found by its config file (the Mosquitto handle does not give it).
  const conf = join(mosquitto.dir, 'mosquitto.conf');
  const brokerPid = Number(
    readdirSync('/proc').find((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(conf);
      } catch {
        return false;
      }
    }),
  );
  return {
    url: mosquitto.url,
    clouds,
    brokerPid,
    /** Messages Mosquitto dropped (a session's queue full: max_queued_messages, 1,000 by default). */
    async brokerDropped() {
      const client = await mqtt.connectAsync(mosquitto.url, {
        username: 'bench-sys',
        password: ingestPassword,
      });
      const topic = '$SYS/broker/publish/messages/dropped';
      const value = new Promise((resolve) => client.on('message', (_t, p) => resolve(Number(String(p)))));
      await client.subscribeAsync(topic);
      const dropped = await Promise.race([value, new Promise((r) => setTimeout(() => r(null), 10_000))]);
      await client.endAsync();
      return dropped;
    },
    async stopServers() {
      await mosquitto.dispose();
      await influxd.dispose();
      await pg.stop();
    },
  };
}

async function credentials(count, kind) {
  const ids = Array.from({ length: count }, (_, i) => `fleet-${String(i).padStart(5, '0')}`);
  if (kind === 'scrypt') {
    const secret = 'fleet-shared-password';
    const run = spawnSync(process.execPath, [a['cloud-bin'], 'hash-password'], {
      input: secret,
      encoding: 'utf8',
    });
    const passwordHash = run.stdout.trim();
    return ids.map((id) => ({ id, secret, passwordHash }));
  }
  const { newEdgeSecret } = await import('@village/cloud-ingest');
  return ids.map((id) => ({ id, ...newEdgeSecret() }));
}

/** The clouds' histogram of batches per transaction (sum and count so far, over every host). */
async function commitGroups() {
  const texts = await Promise.all(
    clouds.map(async (c) => (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`)).text()),
  );
  const pick = (name) =>
    sum(texts.map((text) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)));
  return { sum: pick('cloud_commit_group_batches_sum'), count: pick('cloud_commit_group_batches_count') };
}

function sum(values) {
  return values.reduce((x, y) => x + y, 0);
}

function cpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function rssMb(p) {
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1]) / 1024);
}

function round(v, digits = 1) {
  return v === undefined ? null : Number(v.toFixed(digits));
}

function print(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}
