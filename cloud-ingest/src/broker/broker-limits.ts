import type { Socket } from 'node:net';
import type { Client } from 'aedes';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';

/** mqtt.limits of cloud.yaml (config.ts documents the defaults and units). */
export interface MqttLimits {
  /** Open sockets at once, TCP and TLS listeners together, authenticated or not. */
  maxConnections: number;
  /** Authenticated sessions one edge credential may hold at once. */
  maxSessionsPerEdge: number;
  /** A socket that has not completed CONNECT (CONNACK accepted) within this many ms is closed. */
  connectDeadlineMs: number;
  /** Until its credentials are accepted, a client's packets may be at most this many bytes. */
  maxConnectBytes: number;
}

export type LimitName = 'connections' | 'sessions_per_edge' | 'connect_deadline' | 'connect_bytes';

/**
 * The client id the broker uses for a session: derived from the authenticated username, so an edge
 * can only ever take over its own sessions (issue 13, finding 3). The edge's own `edge-<id>` is kept
 * as it is; any other id is put under the edge's name (`/` cannot occur in an edge id).
 */
export function sessionIdFor(username: string, givenId: string): string {
  const own = `edge-${username}`;
  return givenId === own ? own : `${own}/${givenId}`;
}

/**
 * Bookkeeping for the limits that need state: open sockets (all listeners), authenticated
 * sessions per edge, and the distinct edges connected (the `cloud_connected_edges` gauge).
 */
export function createConnectionLimits(limits: MqttLimits, metrics: CloudMetrics, log: Logger) {
  let open = 0;
  const sessions = new Map<string, Set<Client>>();
  const ready = new Map<string, number>();

  const refused = (limit: LimitName, fields: Record<string, unknown>) => {
    metrics.mqttLimitRefusals.inc({ limit });
    log.warn({ limit, ...fields }, 'mqtt connection refused by a limit');
  };

  return {
    refused,
    /**
     * Called for every accepted socket before aedes sees it: false (socket destroyed) over the
     * total cap. Otherwise counts the socket until it closes.
     */
    admit(socket: Socket): boolean {
      if (open >= limits.maxConnections) {
        refused('connections', { remote: socket.remoteAddress, open });
        socket.destroy();
        return false;
      }
      open++;
      socket.once('close', () => {
        open--;
      });
      return true;
    },
    /** Closes the socket when its client has not completed CONNECT within the deadline. */
    armConnectDeadline(socket: Socket, client: Client): void {
      const deadline = setTimeout(() => {
        if (client.connected || socket.destroyed) return;
        refused('connect_deadline', { remote: socket.remoteAddress, deadlineMs: limits.connectDeadlineMs });
        socket.destroy();
      }, limits.connectDeadlineMs);
      deadline.unref();
      socket.once('close', () => clearTimeout(deadline));
    },
    /**
     * After the password check: may `username` hold one more session? A session with the same
     * client id is about to be taken over, so it does not count.
     */
    mayOpenSession(username: string, client: Client, replaces: Client | undefined): boolean {
      const held = sessions.get(username);
      const count = (held?.size ?? 0) - (replaces && held?.has(replaces) ? 1 : 0);
      if (count < limits.maxSessionsPerEdge) return true;
      refused('sessions_per_edge', { edge: username, clientId: client.id, max: limits.maxSessionsPerEdge });
      return false;
    },
    /** Counts the session until its socket closes. */
    sessionOpened(username: string, client: Client, socket: Socket): void {
      const held = sessions.get(username) ?? new Set<Client>();
      sessions.set(username, held);
      held.add(client);
      socket.once('close', () => {
        held.delete(client);
        if (held.size === 0 && sessions.get(username) === held) sessions.delete(username);
      });
    },
    /** clientReady / clientDisconnect of an edge: keeps the distinct-edges gauge. */
    edgeReady(username: string): void {
      ready.set(username, (ready.get(username) ?? 0) + 1);
      metrics.connectedEdges.set(ready.size);
    },
    edgeGone(username: string): void {
      const n = (ready.get(username) ?? 0) - 1;
      if (n > 0) ready.set(username, n);
      else ready.delete(username);
      metrics.connectedEdges.set(ready.size);
    },
  };
}

export type ConnectionLimits = ReturnType<typeof createConnectionLimits>;
