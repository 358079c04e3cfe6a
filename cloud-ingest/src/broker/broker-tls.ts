import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { type Server, TLSSocket, createServer } from 'node:tls';
import { ConfigError } from '@village/service-kit';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';

/** mqtt.tls of cloud.yaml: an MQTT-over-TLS listener beside the plain one (paths already resolved). */
export interface BrokerTlsOptions {
  host?: string | undefined;
  port: number;
  /** PEM server certificate (chain) and its key. */
  cert: string;
  key: string;
  /** PEM CA bundle that signs edge client certificates. */
  ca?: string | undefined;
  /** Refuse the handshake without a client certificate from `ca`; the certificate's CN must be the edge id. */
  requireClientCert: boolean;
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cloud.yaml: mqtt.tls.${key}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * A TLS server handing each authenticated socket to `onSocket` (aedes). A failed handshake (wrong
 * CA, no client certificate when one is required, plain MQTT on the TLS port) is counted and logged.
 */
export function createTlsListener(
  opts: BrokerTlsOptions,
  metrics: CloudMetrics,
  log: Logger,
  onSocket: (socket: Socket) => void,
): Server {
  if (opts.requireClientCert && opts.ca === undefined) {
    throw new ConfigError('cloud.yaml: mqtt.tls.ca: required when mqtt.tls.requireClientCert is true');
  }
  const server = createServer(
    {
      cert: readPem(opts.cert, 'cert'),
      key: readPem(opts.key, 'key'),
      ca: opts.ca === undefined ? undefined : readPem(opts.ca, 'ca'),
      requestCert: opts.requireClientCert,
      rejectUnauthorized: opts.requireClientCert,
      minVersion: 'TLSv1.2',
      // A handshake that stalls holds a socket: bounded like the CONNECT deadline.
      handshakeTimeout: 10_000,
    },
    onSocket,
  );
  server.on('tlsClientError', (err, socket) => {
    const code = (err as { code?: string }).code ?? 'tls_error';
    metrics.tlsHandshakeFailures.inc({ code });
    log.warn({ remote: socket.remoteAddress, code, err: err.message }, 'mqtt tls handshake failed');
  });
  return server;
}

/**
 * With client certificates required, the certificate names the edge (subject CN = edge id): a
 * stolen password alone is not enough, and one edge's certificate never logs in as another.
 * Returns the mismatch to report, or undefined when the socket may use `username`.
 */
export function certificateMismatch(
  socket: unknown,
  username: string,
  requireClientCert: boolean,
): string | undefined {
  if (!requireClientCert || !(socket instanceof TLSSocket)) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return cn === username ? undefined : `client certificate CN ${String(cn)} is not edge ${username}`;
}
