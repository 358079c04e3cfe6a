import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CLOUD_BIN } from './harness/processes.js';
import { type Village, createVillage } from './harness/village.js';

const PASSWORD = 'pw-refused-edge-e2e';
const LIMIT = 300;

const health = async (v: Village) => {
  const r = await fetch(`http://127.0.0.1:${v.healthPort}/health`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('an edge the cloud refuses, until the cloud is fixed', () => {
  let v: Village;
  beforeAll(async () => {
    // The edge is in the registry but its credential is not yet in cloud.yaml.
    v = await createVillage('uplink-refused', { cloud: { edges: [] }, edgePassword: PASSWORD });
  });
  afterAll(() => v.cleanup());

  it('retries forever, reports 503 unauthorized, and delivers its backlog once the cloud knows it', async () => {
    await v.startCloud();
    await v.startEdge({ devices: 3, intervalMs: 20, limit: LIMIT });

    const refused = await waitFor('/health to say unauthorized', async () => {
      const h = await health(v);
      return h.status === 503 && h.body.reason === 'unauthorized' ? h : undefined;
    });
    expect(refused.body.status).toBe('degraded');
    // Not one refusal and silence: it keeps trying (each attempt refused again).
    await waitFor('several refused attempts', async () => {
      const m = await v.edgeMetrics();
      return (m.get('edge_uplink_refusals_total{reason="unauthorized"}') ?? 0) >= 3;
    });
    const m = await v.edgeMetrics();
    expect(m.get('edge_uplink_state{state="unauthorized"}')).toBe(1);
    expect(m.get('edge_uplink_state{state="connected"}')).toBe(0);
    expect(v.storedCount()).toBe(0);

    // The operator adds the edge to cloud.yaml and restarts the cloud; the edge is not touched.
    await v.cloud!.stop();
    const hash = spawnSync(process.execPath, [CLOUD_BIN, 'hash-password'], {
      input: `${PASSWORD}\n`,
      encoding: 'utf8',
    });
    expect(hash.status).toBe(0);
    const configPath = join(v.dir, 'cloud', 'cloud.yaml');
    const config = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config.edges = [{ id: 'edge-1', passwordHash: hash.stdout.trim() }];
    writeFileSync(configPath, stringify(config));
    const edgePid = v.edge!.child.pid;
    await v.startCloud();

    await waitFor(
      'the backlog delivered',
      async () => {
        const e = await v.edgeMetrics();
        return (
          e.get('edge_readings_accepted_total') === LIMIT &&
          e.get('edge_outbox_depth_readings') === 0 &&
          e.get('edge_outbox_batches') === 0
        );
      },
      { timeoutMs: 60_000 },
    );
    expect(v.edge!.child.pid).toBe(edgePid);
    expect(v.storedCount()).toBe(LIMIT);
    const ok = await health(v);
    expect(ok.status).toBe(200);
    expect((ok.body.uplink as Record<string, unknown>).state).toBe('connected');
    // The acks carry the cloud's clock: the edge measured its offset (same machine: about 0).
    expect(typeof ok.body.clockOffsetS).toBe('number');
    expect(Math.abs(ok.body.clockOffsetS as number)).toBeLessThan(5);
  });
});
