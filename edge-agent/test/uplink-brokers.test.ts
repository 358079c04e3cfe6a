import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { makeTestCa, waitFor } from '@village/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { openBrokerStream, parseBroker } from '../src/uplink-brokers.js';

describe('the brokers of cloud.url / cloud.urls', () => {
  it('parses host, port (1883 and 8883 by default) and TLS, and labels them without user info', () => {
    expect(parseBroker('mqtt://127.0.0.1:1884')).toEqual({
      label: 'mqtt://127.0.0.1:1884',
      host: '127.0.0.1',
      port: 1884,
      tls: false,
    });
    expect(parseBroker('mqtts://cloud.example')).toEqual({
      label: 'mqtts://cloud.example',
      host: 'cloud.example',
      port: 8883,
      tls: true,
    });
    expect(parseBroker('mqtt://cloud.example')).toMatchObject({ port: 1883 });
    // A user name in the URL never reaches /health, a log line or a metric label.
    expect(parseBroker('mqtt://edge-1@cloud.example:1883').label).toBe('mqtt://cloud.example:1883');
    expect(parseBroker('mqtt://[::1]:1883')).toMatchObject({ host: '::1', label: 'mqtt://[::1]:1883' });
  });

  describe('over TLS, each broker is checked under its own name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-brokers-'));
    const ca = makeTestCa(dir, 'ca');
    const servers: Server[] = [];
    afterAll(() => {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const tls = { ca: readFileSync(ca.cert), rejectUnauthorized: true as const };

    /** A real TLS server on `localhost` whose certificate names only `altNames`; records the SNI it was sent. */
    async function tlsServer(altNames: string) {
      const issued = ca.issue(`server-${servers.length}`, 'broker', 'server', { altNames });
      const seen: (string | false | null)[] = [];
      const server = createServer(
        { cert: readFileSync(issued.cert), key: readFileSync(issued.key) },
        (socket) => {
          seen.push(socket.servername);
          socket.end();
        },
      );
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, 'localhost', r));
      return { port: (server.address() as AddressInfo).port, seen };
    }
    /** Resolves 'authorized' or the TLS error's code. */
    const dial = (url: string) =>
      new Promise<string>((resolve) => {
        const s = openBrokerStream(parseBroker(url), tls);
        // Left open until the server ends it: a client gone at once can leave the server's handshake unfinished.
        s.once('secureConnect', () => resolve('authorized'));
        s.once('end', () => s.destroy());
        s.once('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
      });

    it('sends the broker host as SNI, trusts the configured CA, and refuses a certificate naming another host', async () => {
      const named = await tlsServer('DNS:localhost');
      const other = await tlsServer('DNS:broker-b.example');
      expect(await dial(`mqtts://localhost:${named.port}`)).toBe('authorized');
      await waitFor('the server to take the connection', () => named.seen.length > 0);
      expect(named.seen).toEqual(['localhost']);
      expect(await dial(`mqtts://localhost:${other.port}`)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });
  });
});
