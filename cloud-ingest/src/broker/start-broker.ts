import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import { type MqttLimits, createConnectionLimits, sessionIdFor } from './broker-limits.js';
import { type BrokerTlsOptions, certificateMismatch, createTlsListener } from './broker-tls.js';
import { mayPublish, maySubscribe } from './edge-acl.js';
import { verifyEdgeSecrets } from './edge-secret.js';

export interface BrokerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  /** Largest MQTT packet, bytes; a larger one closes the connection. */
  maxPacketBytes: number;
  /** Edge id → the hashes of its secret accepted now (`sha256$...` or `scrypt$...`, edge-secret.ts), read at each CONNECT. */
  credentials: { get(edge: string): readonly string[] | undefined };
  /** Connection caps and the CONNECT deadline (broker-limits.ts). */
  limits: MqttLimits;
  /** An MQTT-over-TLS listener beside the plain one (broker-tls.ts). */
  tls?: BrokerTlsOptions | undefined;
  log: Logger;
  metrics: CloudMetrics;
  /** Runs after the broker exists and before it accepts connections (in-process subscriptions). */
  beforeListen(aedes: Aedes): Promise<void>;
}

export interface RunningBroker {
  aedes: Aedes;
  port: number;
  /** Bound port of the TLS listener, when mqtt.tls is set. */
  tlsPort: number | undefined;
  /** Closes every connection of this edge (removed or revoked by an admin); returns how many. */
  disconnectEdge(edge: string): number;
  close(): Promise<void>;
}

/** The parts of aedes 1.2.0 internals used here; they are not in its typings. */
interface ClientInternals {
  _authorized?: boolean;
  _parser?: { _parseLength?: () => boolean; _emitError?: (err: Error) => void; packet: { length: number } };
}

function authError(message: string, returnCode: 2 | 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Starts the embedded aedes broker (MQTT 3.1.1) with per-edge credentials and the topic ACL. */
export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const { log, metrics } = opts;
  const edgeOf = new WeakMap<Client, string>();
  const wills = new WeakMap<Client, PublishPacket>();
  const limits = createConnectionLimits(opts.limits, metrics, log);
  const ready = new WeakSet<Client>();

  const refuseAuth = (
    client: Client,
    username: string | undefined,
    reason: string,
    err: AuthenticateError,
  ) => {
    metrics.authFailures.inc({ reason });
    log.warn(
      { clientId: client.id, username, reason, returnCode: err.returnCode },
      'mqtt connection refused',
    );
    return err;
  };

  const aedes: Aedes = await Aedes.createBroker({
    // aedes delivers every message through one emitter with, by default, 100 slots, each held
    // until every subscriber's callback ran. The ingest holds its callback to stop reading from
    // a connection while its queue is full (batch-group-queue.ts), and the cloud's acks go
    // through the same emitter: with a slot per held batch, past ~100 connections waiting the
    // acks queued behind them, no commit finished, and ingest stalled for good. Unbounded here;
    // what bounds the load is each connection's one read in flight.
    concurrency: 0,
    // The will is not checked at connect by aedes 1.2.0 (only by authorizePublish when it fires),
    // so keep it here and refuse, at CONNECT, a will aimed at another edge's topic.
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, packet.will as PublishPacket);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      if (!username || !password) {
        done(
          refuseAuth(client, username, 'no_credentials', authError('username and password required', 4)),
          false,
        );
        return;
      }
      const hashes = opts.credentials.get(username);
      verifyEdgeSecrets(password, hashes).then((ok) => {
        // Closed meanwhile (the CONNECT deadline, or the peer left): already counted, nothing to answer.
        if ((client.conn as Socket).destroyed) {
          done(authError('connection closed during authentication', 3), false);
          return;
        }
        if (hashes === undefined) {
          done(
            refuseAuth(client, username, 'unknown_edge', authError('bad user name or password', 4)),
            false,
          );
          return;
        }
        if (!ok) {
          done(
            refuseAuth(client, username, 'bad_password', authError('bad user name or password', 4)),
            false,
          );
          return;
        }
        const will = wills.get(client);
        if (will && !mayPublish(username, will.topic)) {
          metrics.aclRefusals.inc({ action: 'will' });
          done(
            refuseAuth(client, username, 'bad_will', authError(`will topic ${will.topic} not allowed`, 5)),
            false,
          );
          return;
        }
        const mismatch = certificateMismatch(client.conn, username, opts.tls?.requireClientCert ?? false);
        if (mismatch !== undefined) {
          done(refuseAuth(client, username, 'cert_mismatch', authError(mismatch, 5)), false);
          return;
        }
        // A CONNECT with a client id in use takes over that session (MQTT-3.1.4-2). The id is
        // derived from the username, so an edge can only ever take over its own session.
        const given = client.id;
        client.id = sessionIdFor(username, given);
        const holder = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[
          client.id
        ];
        if (!limits.mayOpenSession(username, client, holder)) {
          done(
            refuseAuth(
              client,
              username,
              'too_many_sessions',
              authError('too many sessions for this edge', 3),
            ),
            false,
          );
          return;
        }
        limits.sessionOpened(username, client, client.conn as Socket);
        edgeOf.set(client, username);
        if (given !== client.id)
          log.debug({ edge: username, given, clientId: client.id }, 'mqtt client id namespaced');
        done(null, true);
      });
    },
    authorizePublish(client, packet, done) {
      const edge = client ? edgeOf.get(client) : undefined;
      if (edge !== undefined && mayPublish(edge, packet.topic)) {
        done(null);
        return;
      }
      metrics.aclRefusals.inc({ action: 'publish' });
      log.warn({ clientId: client?.id, edge, topic: packet.topic }, 'mqtt publish refused by ACL');
      // aedes closes the connection on an error here (MQTT 3.1.1 has no PUBACK reason code).
      done(new Error(`edge ${edge} may not publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, sub, done) {
      const edge = edgeOf.get(client);
      if (edge !== undefined && maySubscribe(edge, sub.topic)) {
        done(null, sub);
        return;
      }
      metrics.aclRefusals.inc({ action: 'subscribe' });
      log.warn({ clientId: client.id, edge, topic: sub.topic }, 'mqtt subscribe refused by ACL');
      done(null, null); // SUBACK granted QoS 128 (MQTT 3.1.1 §3.9.3)
    },
  });

  aedes.on('clientReady', (client) => {
    const edge = edgeOf.get(client);
    if (edge !== undefined) {
      ready.add(client);
      limits.edgeReady(edge);
    }
    log.info({ clientId: client.id, edge: edgeOf.get(client) }, 'edge connected');
  });
  aedes.on('clientDisconnect', (client) => {
    if (ready.delete(client)) limits.edgeGone(edgeOf.get(client)!);
    log.info({ clientId: client.id, edge: edgeOf.get(client) }, 'edge disconnected');
  });
  aedes.on('clientError', (client, err) => {
    log.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
  });

  await opts.beforeListen(aedes);
  const serve = (socket: Socket) => {
    if (!limits.admit(socket)) return;
    // A PUBACK and an ack are small writes back to back: with Nagle's algorithm the second waits
    // for the edge's delayed ACK of the first (about 40 ms on Linux), which set every ack's latency.
    socket.setNoDelay(true);
    const client = aedes.handle(socket);
    limits.armConnectDeadline(socket, client);
    const internals = client as unknown as ClientInternals;
    // Before the credentials are accepted, only a CONNECT-sized packet (issue 13, finding 7).
    const maxNow = () => (internals._authorized ? opts.maxPacketBytes : opts.limits.maxConnectBytes);
    limitPacketSize(internals, maxNow, (length) => {
      if (!internals._authorized) {
        limits.refused('connect_bytes', {
          remote: socket.remoteAddress,
          bytes: length,
          max: opts.limits.maxConnectBytes,
        });
        return;
      }
      metrics.packetsTooLarge.inc();
      log.warn(
        { clientId: client.id, maxPacketBytes: opts.maxPacketBytes },
        'mqtt packet too large, connection closed',
      );
    });
  };
  const listen = (server: Server, port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const server: Server = createServer(serve);
  const port = await listen(server, opts.port, opts.host);
  const tlsServer = opts.tls && createTlsListener(opts.tls, metrics, log, serve);
  const tlsPort =
    tlsServer && opts.tls ? await listen(tlsServer, opts.tls.port, opts.tls.host ?? opts.host) : undefined;

  return {
    aedes,
    port,
    tlsPort,
    disconnectEdge(edge) {
      const clients = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients;
      const of = Object.values(clients).filter((c) => c !== undefined && edgeOf.get(c) === edge);
      for (const c of of) c!.close();
      return of.length;
    },
    async close() {
      // server.close() only stops accepting: it waits for every open connection to end, and
      // connected edges never end theirs. Stop accepting, then let aedes close its clients.
      const closed = [server, ...(tlsServer ? [tlsServer] : [])].map(
        (s) => new Promise<void>((resolve) => s.close(() => resolve())),
      );
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(closed);
    },
  };
}

/**
 * Neither aedes 1.2.0 nor mqtt-packet 9 bounds a packet's size: a client could make the broker
 * buffer up to 256 MiB per packet. The check sits where the fixed header's remaining length has
 * just been read, before any payload is buffered; the parser error makes aedes close the socket.
 */
function limitPacketSize(
  client: ClientInternals,
  max: () => number,
  onRefuse: (length: number) => void,
): void {
  const parser = client._parser;
  const parseLength = parser?._parseLength;
  if (!parser || !parseLength || !parser._emitError) {
    throw new Error('aedes internals changed: cannot bound the MQTT packet size (check the aedes version)');
  }
  parser._parseLength = function boundedParseLength(this: NonNullable<ClientInternals['_parser']>) {
    const done = parseLength.call(this);
    const limit = max();
    if (done && this.packet.length > limit) {
      onRefuse(this.packet.length);
      this._emitError!(new Error(`packet of ${this.packet.length} bytes is over the ${limit}-byte limit`));
      return false;
    }
    return done;
  };
}
