import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@village/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EDGE_BIN, type Proc, startProc } from './harness/processes.js';
import { hashWithBin } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

const ADMIN_PASSWORD = 'admin-live-pw';

// Issue 17, done means: through real processes (built village-cloud and village-edge), an admin
// adds a village, a station and an edge through the API; the new edge connects and its readings
// are stored without any restart; removing it disconnects it; every step is in the audit.
describe('live administration (built bins)', { timeout: 120_000 }, () => {
  let v: Village;
  let edge: Proc | undefined;
  let cookie = '';
  beforeAll(async () => {
    v = await createVillage('admin-live', {
      cloud: {
        users: [
          { username: 'root', passwordHash: hashWithBin(ADMIN_PASSWORD), role: 'admin', name: 'Admin' },
        ],
      },
    });
    await v.startCloud();
    const login = await fetch(`http://127.0.0.1:${v.httpPort}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  });
  afterAll(async () => {
    await edge?.stop();
    await v?.cleanup();
  });

  const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    v.api<T>(path, {
      method,
      headers: { cookie, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  it('a village, station and edge added through the API: the edge connects, its readings are stored, removal disconnects it', async () => {
    const cloudPid = v.cloud!.child.pid;
    expect(
      (await admin('POST', '/api/v1/admin/villages', { id: 'v-new', town: 't1', name: '新村' })).status,
    ).toBe(201);
    expect(
      (await admin('POST', '/api/v1/admin/stations', { id: 's-new', village: 'v-new', name: '新村站' }))
        .status,
    ).toBe(201);
    const made = await admin<{ credential: { secret: string } }>('POST', '/api/v1/admin/edges', {
      id: 'edge-new',
      station: 's-new',
    });
    expect(made.status).toBe(201);

    const config = join(v.dir, 'edge-new.yaml');
    writeFileSync(
      config,
      stringify({
        edgeId: 'edge-new',
        dataDir: './edge-new-data',
        cloud: {
          url: `mqtt://127.0.0.1:${v.mqttPort}`,
          password: '${EDGE_PASSWORD}',
          reconnectMinMs: 100,
          reconnectMaxMs: 500,
        },
        outbox: { batchMaxAgeMs: 200, synchronous: 'normal' },
        health: { host: '127.0.0.1', port: 0 },
        drivers: [{ kind: 'fake', id: 'fake', prefix: 'new-', devices: 2, intervalMs: 100 }],
      }),
    );
    edge = startProc(EDGE_BIN, ['--config', config], join(v.dir, 'edge-new.log'), {
      EDGE_PASSWORD: made.body.credential.secret,
    });
    const ready = await edge.line((l) => l.msg === 'edge ready');
    await v.cloud!.line((l) => l.msg === 'edge connected' && l.edge === 'edge-new');

    // Stored, under the new village, by the same cloud process (no restart).
    await waitFor('readings of the new edge in the new village', () => {
      const rows = v.query<{ n: number }>(
        "SELECT count(*) AS n FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device LIKE 'new-%' AND s.village = 'v-new'",
      );
      return rows[0]!.n > 0;
    });
    expect(v.cloud!.child.pid).toBe(cloudPid);
    const edges = await admin<{ edges: { id: string; online: boolean }[] }>('GET', '/api/v1/edges');
    expect(edges.body.edges.find((e) => e.id === 'edge-new')).toMatchObject({ online: true });

    const removed = await admin<{ disconnected: number }>('DELETE', '/api/v1/admin/edges/edge-new');
    expect(removed.status).toBe(200);
    expect(removed.body.disconnected).toBe(1);
    await v.cloud!.line((l) => l.msg === 'edge disconnected' && l.edge === 'edge-new');
    // The edge tries again and is refused, for good.
    await v.cloud!.line((l) => l.msg === 'mqtt connection refused' && l.username === 'edge-new');
    const health = await fetch(`http://127.0.0.1:${ready.healthPort as number}/metrics`).then((r) =>
      r.text(),
    );
    expect(health).toMatch(/edge_uplink_connected 0/);

    const audit = await admin<{
      audit: { actor: string; action: string; entity: string; entityId: string }[];
    }>('GET', '/api/v1/admin/audit');
    expect(
      audit.body.audit
        .filter((a) => a.actor === 'root')
        .map((a) => `${a.action} ${a.entity} ${a.entityId}`)
        .reverse(),
    ).toEqual([
      'create village v-new',
      'create station s-new',
      'create edge edge-new',
      'issue-credential edge edge-new',
      'remove edge edge-new',
      'revoke-credential edge edge-new',
    ]);
  });
});
