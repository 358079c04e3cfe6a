import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Influxd, type Mosquitto, fetchMetrics } from '@village/test-kit';
import { stringify } from 'yaml';
import { influxSink } from './broker-and-influx.js';
import { CLOUD_BIN, type Proc, startProc } from './processes.js';
import type { Village } from './village.js';

/** One ingest host of a several-hosts cloud (docs/scaling.md "Several hosts"): its own folder, no shared file. */
export interface Host {
  name: string;
  /** `<village dir>/<name>`: its cloud.yaml, its copy of registry.yaml, its data/ (cloud.db). */
  dir: string;
  readonly proc: Proc;
  readonly httpPort: number;
  metrics(): Promise<Map<string, number>>;
  /** Starts it again on the same folder and client id (after kill9). */
  restart(): Promise<void>;
}

/** cloud_batches_total{result="<result>"} summed over its codes. */
export const batchesOf = (m: Map<string, number>, result: string) =>
  [...m]
    .filter(([k]) => k.startsWith('cloud_batches_total{') && k.includes(`result="${result}"`))
    .reduce((a, [, n]) => a + n, 0);

/**
 * Starts `village-cloud` host `name` consuming `mosquitto` (external mode, client id = name; a list:
 * every one of those brokers) into `influxd`, with the seq dedupe and the journal in PostgreSQL at
 * `storeUrl` (a `${ENV}` reference may stand for the password). Rules are off unless `cloud` (extra
 * top-level keys of cloud.yaml: `rules`, `notify`, `ingest`) turns them on.
 * `influx`: extra sink keys (retry bounds).
 */
export async function startHost(
  v: Village,
  name: string,
  o: {
    mosquitto: Mosquitto | Mosquitto[];
    influxd: Influxd;
    storeUrl: string;
    influx?: Record<string, unknown>;
    cloud?: Record<string, unknown>;
  },
): Promise<Host> {
  const dir = join(v.dir, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(v.dir, 'cloud', 'registry.yaml'), join(dir, 'registry.yaml'));
  const config = join(dir, 'cloud.yaml');
  writeFileSync(
    config,
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      sink: { ...influxSink(o.influxd), ...o.influx },
      store: { kind: 'postgres', url: o.storeUrl },
      rules: { enabled: false },
      mqtt: {
        mode: 'external',
        url: Array.isArray(o.mosquitto) ? o.mosquitto.map((m) => m.ingestUrl) : o.mosquitto.ingestUrl,
        username: 'ingest',
        password: '${VILLAGE_INGEST_PASSWORD}',
        clientId: name,
        sessionExpiryS: 60,
      },
      ...o.cloud,
    }),
  );
  let proc!: Proc;
  let httpPort = 0;
  const start = async () => {
    proc = startProc(CLOUD_BIN, ['--config', config], join(v.dir, `${name}.log`));
    httpPort = (await proc.line((l) => l.msg === 'cloud ready', 60_000)).httpPort as number;
  };
  await start();
  return {
    name,
    dir,
    get proc() {
      return proc;
    },
    get httpPort() {
      return httpPort;
    },
    metrics: () => fetchMetrics(`http://127.0.0.1:${httpPort}/metrics`),
    restart: start,
  };
}
