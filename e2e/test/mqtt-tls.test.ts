import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestCa, freePort, makeTestCa, runTool, waitFor } from '@village/test-kit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_PASSWORDS, TWO_VILLAGES, twoEdgeCredentials } from './harness/two-villages.js';
import { type Village, createVillage } from './harness/village.js';

/** Issue 13, finding 6 (MQTT): MQTT over TLS, with and without client certificates. */

const dir = mkdtempSync(join(tmpdir(), 'mqtt-tls-'));
let ca: TestCa;
let other: TestCa;
let server: { cert: string; key: string };
let edge1: { cert: string; key: string };
let edge2: { cert: string; key: string };
let rogue: { cert: string; key: string };

beforeAll(() => {
  ca = makeTestCa(dir, 'village-ca');
  other = makeTestCa(dir, 'other-ca');
  server = ca.issue('broker', 'broker', 'server');
  edge1 = ca.issue('edge-1', 'edge-1', 'client');
  edge2 = ca.issue('edge-2', 'edge-2', 'client');
  rogue = other.issue('rogue-edge-1', 'edge-1', 'client');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mqtt.js over TLS as edge-1: resolves 'connected', a CONNACK code, or the TLS error's code. */
const tryConnect = (port: number, tls: Record<string, Buffer | undefined>) =>
  new Promise<string | number>((resolve) => {
    const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      protocolVersion: 4,
      clientId: 'edge-edge-1/probe',
      username: 'edge-1',
      password: EDGE_PASSWORDS['edge-1'],
      reconnectPeriod: 0,
      rejectUnauthorized: true,
      ...tls,
    });
    c.once('connect', () => {
      c.end(true);
      resolve('connected');
    });
    c.once('error', (err) => {
      c.end(true);
      const e = err as { code?: string | number };
      resolve(e.code ?? err.message);
    });
    c.once('close', () => resolve('closed'));
  });
const pem = (path: string) => readFileSync(path);

async function startTlsCloud(name: string, requireClientCert: boolean) {
  const tlsPort = await freePort();
  const v = await createVillage(name, {
    cloud: {
      edges: twoEdgeCredentials(),
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        tls: { port: tlsPort, cert: server.cert, key: server.key, ca: ca.cert, requireClientCert },
      },
    },
    registry: TWO_VILLAGES,
    edgePassword: EDGE_PASSWORDS['edge-1'],
  });
  const ready = await (await v.startCloud()).line((l) => l.msg === 'cloud ready');
  expect(ready.mqttTlsPort).toBe(tlsPort);
  return { v, tlsPort };
}

const metric = async (v: Village, prefix: string) => {
  const text = await (await fetch(`http://127.0.0.1:${v.httpPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
};

describe('broker requiring client certificates from the configured CA', () => {
  let v: Village;
  let tlsPort: number;
  beforeAll(async () => {
    ({ v, tlsPort } = await startTlsCloud('mqtt-tls-mutual', true));
  });
  afterAll(() => v.cleanup());

  it('the real edge connects over mqtts:// with the CA and its certificate, and its data is stored', async () => {
    await v.startEdge(
      { devices: 1, intervalMs: 50, limit: 10 },
      {},
      { url: `mqtts://127.0.0.1:${tlsPort}`, tls: { ca: ca.cert, cert: edge1.cert, key: edge1.key } },
    );
    await waitFor('10 readings stored over TLS', () => v.storedCount() === 10);
    expect((await v.edgeMetrics()).get('edge_uplink_connected')).toBe(1);
  });

  it('refuses a client without a certificate and one whose certificate is from another CA', async () => {
    const before = await metric(v, 'cloud_mqtt_tls_handshake_failures_total');
    expect(await tryConnect(tlsPort, { ca: pem(ca.cert) })).not.toBe('connected');
    expect(
      await tryConnect(tlsPort, { ca: pem(ca.cert), cert: pem(rogue.cert), key: pem(rogue.key) }),
    ).not.toBe('connected');
    await waitFor(
      'both handshake failures counted',
      async () => (await metric(v, 'cloud_mqtt_tls_handshake_failures_total')) >= before + 2,
    );
    // The control: the same client with edge-1's certificate gets in.
    expect(await tryConnect(tlsPort, { ca: pem(ca.cert), cert: pem(edge1.cert), key: pem(edge1.key) })).toBe(
      'connected',
    );
  });

  it("refuses edge-2's certificate with edge-1's password (CONNACK 5: the certificate names the edge)", async () => {
    expect(await tryConnect(tlsPort, { ca: pem(ca.cert), cert: pem(edge2.cert), key: pem(edge2.key) })).toBe(
      5,
    );
    expect(await metric(v, 'cloud_auth_failures_total{reason="cert_mismatch"}')).toBe(1);
  });

  it('the edge side refuses a broker whose certificate is not from the CA it trusts', async () => {
    const result = await tryConnect(tlsPort, {
      ca: pem(other.cert),
      cert: pem(edge1.cert),
      key: pem(edge1.key),
    });
    expect(result).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });

  it('openssl s_client, an independent peer, completes a verified mutual handshake', async () => {
    const r = await runTool('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${tlsPort}`,
      '-CAfile',
      ca.cert,
      '-cert',
      edge1.cert,
      '-key',
      edge1.key,
      '-verify_return_error',
    ]);
    expect(r.stdout).toContain('Verify return code: 0 (ok)');
    expect(r.stdout).toMatch(/subject=CN ?= ?broker/);
    const wrong = await runTool('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${tlsPort}`,
      '-CAfile',
      other.cert,
      '-verify_return_error',
    ]);
    expect(wrong.code).not.toBe(0);
  });
});

describe('broker with server authentication only', () => {
  let v: Village;
  let tlsPort: number;
  beforeAll(async () => {
    ({ v, tlsPort } = await startTlsCloud('mqtt-tls-server', false));
  });
  afterAll(() => v.cleanup());

  it('an edge with only the CA (no client certificate) connects with its password', async () => {
    expect(await tryConnect(tlsPort, { ca: pem(ca.cert) })).toBe('connected');
    expect(await tryConnect(tlsPort, { ca: pem(other.cert) })).not.toBe('connected');
  });
});
