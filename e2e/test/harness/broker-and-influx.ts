import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Influxd,
  type Mosquitto,
  fetchMetrics,
  influxReadings,
  startInfluxd,
  startMosquitto,
} from '@village/test-kit';
import { stringify } from 'yaml';
import { type BatchTap, TAP_ACL, startBatchTap } from '../../../cloud-ingest/test/servers/batch-tap.js';
import { CLOUD_BIN, type Proc, startProc } from './processes.js';
import { type Village, createVillage } from './village.js';

export const DB = 'village';
const PASSWORDS = { ingest: 'pw-ingest-e2e', 'edge-1': 'pw-edge-1-e2e', tap: 'pw-tap-e2e' };

/** Cloud config keys for the InfluxDB sink on Debian's 1.6.7 (v1 write path). */
export const influxSink = (influxd: Influxd) => ({
  kind: 'influx',
  url: influxd.url,
  api: 'v1',
  database: DB,
});

/** Real Mosquitto (shipped ACL + a tap account) with a tap recording what the edge sends. */
export async function startBrokerWithTap(): Promise<{ mosquitto: Mosquitto; tap: BatchTap }> {
  const mosquitto = await startMosquitto(PASSWORDS, { extraAcl: TAP_ACL('tap') });
  const tap = await startBatchTap(mosquitto.ingestUrl, 'tap', PASSWORDS.tap);
  // The cloud workers read it from the environment (`${VILLAGE_INGEST_PASSWORD}` in cloud.yaml).
  process.env.VILLAGE_INGEST_PASSWORD = PASSWORDS.ingest;
  return { mosquitto, tap };
}

/** createVillage() options for a cloud consuming `mosquitto` as worker `clientId`. */
export const externalVillage = (
  mosquitto: Mosquitto,
  sink: Record<string, unknown>,
  ingest: Record<string, unknown> = {},
) => ({
  cloud: {
    sink,
    ingest,
    mqtt: {
      mode: 'external',
      url: mosquitto.ingestUrl,
      username: 'ingest',
      password: '${VILLAGE_INGEST_PASSWORD}',
      clientId: 'worker-a',
      sessionExpiryS: 60,
    },
  },
  edgeUrl: mosquitto.url,
  edgePassword: PASSWORDS['edge-1'],
});

/** InfluxDB, Mosquitto with a tap, and a village whose cloud consumes the broker into InfluxDB. */
export interface BrokerInfluxVillage {
  influxd: Influxd;
  mosquitto: Mosquitto;
  tap: BatchTap;
  v: Village;
  /** Takes down whatever started, village first. */
  stop(): Promise<void>;
}

/**
 * The setup of the external-broker flow tests: a real InfluxDB, a real Mosquitto with a tap, and
 * village `name` whose cloud is worker-a on that broker with the InfluxDB sink (`ingest`: extra
 * ingest keys, such as the test knobs). On a failed start it stops what did start, then throws.
 */
export async function startBrokerInfluxVillage(
  name: string,
  ingest: Record<string, unknown> = {},
): Promise<BrokerInfluxVillage> {
  const up: Partial<BrokerInfluxVillage> = {};
  const stop = async () => {
    await up.v?.cleanup();
    await up.tap?.close();
    await up.mosquitto?.dispose();
    await up.influxd?.dispose();
  };
  try {
    up.influxd = await startInfluxd(['village']);
    Object.assign(up, await startBrokerWithTap());
    up.v = await createVillage(name, externalVillage(up.mosquitto!, influxSink(up.influxd), ingest));
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...(up as Omit<BrokerInfluxVillage, 'stop'>), stop };
}

/**
 * A second worker process on the same cloud folder (so the same cloud.db), its own client id.
 * `sessionExpiryS`: how long Mosquitto keeps its session (and hands it a share) once it is gone.
 */
export async function startSecondWorker(
  v: Village,
  mosquitto: Mosquitto,
  sink: Record<string, unknown>,
  sessionExpiryS = 60,
): Promise<Proc> {
  const dir = join(v.dir, 'cloud');
  const config = join(dir, 'cloud-b.yaml');
  writeFileSync(
    config,
    stringify({
      dataDir: './data',
      registry: './registry.yaml',
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      sink,
      mqtt: {
        mode: 'external',
        url: mosquitto.ingestUrl,
        username: 'ingest',
        password: '${VILLAGE_INGEST_PASSWORD}',
        clientId: 'worker-b',
        sessionExpiryS,
      },
    }),
  );
  const proc = startProc(CLOUD_BIN, ['--config', config], join(v.dir, 'cloud-b.log'));
  await proc.line((l) => l.msg === 'cloud ready');
  return proc;
}

/**
 * What InfluxDB holds against what the edge sent (the tap): the same keys with the same values,
 * and InfluxDB's own count() agrees. Returns the differences (empty when exact) for a readable failure.
 */
export async function compareWithInflux(influxd: Influxd, sent: Map<string, unknown>) {
  const { points, count } = await influxReadings(influxd, DB);
  const missing = [...sent.keys()].filter((k) => !points.has(k));
  const extra = [...points.keys()].filter((k) => !sent.has(k));
  const different = [...sent].filter(([k, v]) => points.has(k) && points.get(k) !== v).map(([k]) => k);
  return {
    sent: sent.size,
    stored: points.size,
    influxCount: count,
    missing: missing.slice(0, 5),
    extra: extra.slice(0, 5),
    different: different.slice(0, 5),
  };
}

export { startInfluxd, type Influxd, type Mosquitto, type BatchTap };
