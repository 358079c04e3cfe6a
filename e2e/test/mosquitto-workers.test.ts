import { fetchMetrics, waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchTap,
  type BrokerInfluxVillage,
  type Influxd,
  type Mosquitto,
  compareWithInflux,
  influxSink,
  startBrokerInfluxVillage,
  startSecondWorker,
} from './harness/broker-and-influx.js';
import type { Proc } from './harness/processes.js';
import type { Village } from './harness/village.js';

const LIMIT = 30_000;
const committed = (m: Map<string, number>) =>
  [...m]
    .filter(([k]) => k.startsWith('cloud_batches_total{') && k.includes('result="committed"'))
    .reduce((a, [, n]) => a + n, 0);

describe('two ingest workers on Mosquitto, one killed with SIGKILL mid-flow', () => {
  let influxd: Influxd;
  let mosquitto: Mosquitto;
  let tap: BatchTap;
  let v: Village;
  let setup: BrokerInfluxVillage;
  let workerB: Proc | undefined;
  beforeAll(async () => {
    setup = await startBrokerInfluxVillage('mosquitto-workers');
    ({ influxd, mosquitto, tap, v } = setup);
  });
  afterAll(async () => {
    await workerB?.stop();
    await setup?.stop();
  });

  it('both workers take a share, the survivor takes over, and InfluxDB holds exactly what the edge sent', async () => {
    await v.startCloud();
    // Its session outlives the kill by 10 s: until then Mosquitto hands it a share of the batches,
    // which come back only as the edge's resends (the shipped 3600 s would make that an hour).
    workerB = await startSecondWorker(v, mosquitto, influxSink(influxd), 10);
    const bReady = await workerB.line((l) => l.msg === 'cloud ready');
    const bMetrics = () => fetchMetrics(`http://127.0.0.1:${bReady.httpPort as number}/metrics`);
    // Small batches, so both workers see many: 20 devices × 2 metrics every 25 ms.
    // A 5 s first resend, so those come back soon.
    await v.startEdge(
      { devices: 20, intervalMs: 25, limit: LIMIT },
      { batchMaxReadings: 200 },
      { ackTimeoutMs: 5_000 },
    );
    const bShare = await waitFor('worker b to commit batches', async () => {
      const n = committed(await bMetrics());
      return n >= 5 ? n : 0;
    });
    await workerB.kill9();
    const aMetrics = () => fetchMetrics(`http://127.0.0.1:${v.httpPort}/metrics`);
    await v.allAcked(LIMIT, 120_000);
    const aShare = committed(await aMetrics());
    const edge = await v.edgeMetrics();
    const diff = await compareWithInflux(influxd, tap.readings());
    console.log(
      JSON.stringify({
        workers: {
          ...diff,
          workerA: aShare,
          workerBBeforeKill: bShare,
          edgeRetries: edge.get('edge_batches_retried_total'),
        },
      }),
    );
    expect(aShare).toBeGreaterThan(0);
    expect(diff).toEqual({
      sent: LIMIT,
      stored: LIMIT,
      influxCount: LIMIT,
      missing: [],
      extra: [],
      different: [],
    });
  });
});
