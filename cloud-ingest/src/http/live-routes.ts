import type { StreamData, StreamMessageType } from '@village/protocol/api';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { sessionIdOfRequest } from '../auth/auth-middleware.js';
import type { CommittedFeed } from '../ingest/committed-feed.js';
import type { RulesRuntime } from '../rules-runtime/rules-runtime.js';
import type { SinkBatch } from '../sink/sink.js';
import { type RequestScope, canSeeVillage, scopeOf } from './request-scope.js';

/**
 * An alert or incident that changed, as the rules runtime reports it (docs/api.md "Live stream"):
 * `village` decides who may see it; `data` is the Alert or Incident of @village/protocol/api,
 * already masked by the runtime if needed.
 */
export type LiveChange =
  | { type: 'alert'; village: string | null; data: StreamData['alert'] }
  | { type: 'incident'; village: string | null; data: StreamData['incident'] };

/** The rules runtime's alert and incident changes as LiveChanges, each tagged with its village. */
export function rulesChanges(runtime: Pick<RulesRuntime, 'onChange'>): NonNullable<LiveRouteDeps['changes']> {
  return {
    subscribe: (listener) =>
      runtime.onChange((change) =>
        listener(
          change.type === 'alert'
            ? { type: 'alert', village: change.alert.village, data: change.alert }
            : { type: 'incident', village: change.incident.village, data: change.incident },
        ),
      ),
  };
}

export interface LiveRouteDeps {
  committed: CommittedFeed;
  /** Alert and incident changes of the rules runtime, when there is one. */
  changes?: { subscribe(listener: (change: LiveChange) => void): () => void };
  log: Logger;
  /** The cloud's Prometheus registry, for the stream's gauges and counters. */
  metricsRegistry: Registry;
  /** Bytes of frames a client may have waiting before it is dropped as too slow (default 4 MiB). */
  maxQueueBytes?: number;
  /** A comment line is sent after this long without data, so proxies keep the stream open, ms (default 15 s). */
  heartbeatMs?: number;
  /**
   * Of these session ids, the live ones (SessionStore.liveIds). Asked every `sessionCheckMs` for the
   * open streams' sessions: a stream ends once its session ended anywhere (a logout or password
   * reset on another host, an expiry), not only on a logout through this host.
   */
  liveSessions?(ids: string[]): Promise<Set<string>>;
  /** How often the open streams' sessions are checked, ms (default 2 s). */
  sessionCheckMs?: number;
}

export interface LiveRoutes {
  routes: Hono;
  /** Ends every open stream (on cloud shutdown). */
  close(): void;
  /** Ends the streams opened with this session (on its logout): a stream must not outlive the login. */
  endSession(sessionId: string): void;
}

interface Client {
  scope: RequestScope;
  /** Session the stream was opened with; undefined in lab mode. */
  sessionId: string | undefined;
  frames: string[];
  bytes: number;
  closed: boolean;
  wake: () => void;
  /** Closes the connection even while a write is stuck on a client that stopped reading. */
  kill: () => void;
}

/** One SSE frame; JSON never holds a raw newline, so `data:` is a single line. */
const frame = <T extends StreamMessageType>(event: T, data: StreamData[T]) =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * `GET /api/v1/stream`: committed readings and events (and alert/incident changes) as Server-Sent
 * Events, each client seeing only the villages of its scope. A batch is serialized once per
 * village, then handed to every client that may see it. Each client has a bounded queue: a client
 * that falls more than `maxQueueBytes` behind is dropped (counted) rather than letting the cloud
 * buffer without bound; EventSource reconnects by itself and resumes with live data.
 */
export function createLiveRoutes(deps: LiveRouteDeps): LiveRoutes {
  const maxQueueBytes = deps.maxQueueBytes ?? 4 * 1024 * 1024;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const registers = [deps.metricsRegistry];
  const connected = new Gauge({ name: 'cloud_stream_clients', help: 'Open SSE streams', registers });
  const dropped = new Counter({
    name: 'cloud_stream_clients_dropped_total',
    help: 'SSE clients dropped because their queue passed maxQueueBytes',
    registers,
  });
  const clients = new Set<Client>();

  const drop = (client: Client) => {
    client.closed = true;
    client.frames = [];
    client.bytes = 0;
    clients.delete(client);
    client.kill();
    client.wake();
  };

  const deliver = (village: string | null, text: string) => {
    for (const client of clients) {
      if (!canSeeVillage(client.scope, village)) continue;
      if (client.bytes + text.length > maxQueueBytes) {
        dropped.inc();
        deps.log.warn({ actor: client.scope.actor, queuedBytes: client.bytes }, 'slow SSE client dropped');
        drop(client);
        continue;
      }
      client.frames.push(text);
      client.bytes += text.length;
      client.wake();
    }
  };

  const onBatch = (batch: SinkBatch) => {
    if (clients.size === 0) return;
    const { station, village } = batch.place;
    let text = '';
    for (const r of batch.readings) {
      text += frame('reading', {
        device: r.device,
        metric: r.metric,
        value: r.value,
        unit: r.unit,
        ts: r.ts,
        quality: r.quality,
        station,
        village,
        historical: batch.historical,
      });
    }
    for (const e of batch.events) {
      text += frame('event', {
        edge: batch.edgeId,
        device: e.device,
        type: e.type,
        severity: e.severity,
        ts: e.ts,
        receivedAt: batch.receivedAt,
        historical: batch.historical,
        data: e.data,
        station,
        village,
      });
    }
    if (text) deliver(village, text);
  };
  const unsubscribers = [deps.committed.subscribe(onBatch)];
  if (deps.liveSessions) {
    const liveSessions = deps.liveSessions;
    let checking = false;
    const check = async () => {
      const ids = [...new Set([...clients].flatMap((c) => (c.sessionId === undefined ? [] : [c.sessionId])))];
      if (ids.length === 0 || checking) return;
      checking = true;
      try {
        const live = await liveSessions(ids);
        for (const client of [...clients]) {
          if (client.sessionId === undefined || live.has(client.sessionId)) continue;
          deps.log.info({ actor: client.scope.actor }, 'SSE stream ended: its session ended');
          drop(client);
        }
      } catch (err) {
        // The store away: the streams stay (they were allowed when opened) until the next check answers.
        deps.log.warn({ err: (err as Error).message }, 'SSE streams: session check failed');
      } finally {
        checking = false;
      }
    };
    const timer = setInterval(() => void check(), deps.sessionCheckMs ?? 2_000);
    timer.unref();
    unsubscribers.push(() => clearInterval(timer));
  }
  if (deps.changes) {
    unsubscribers.push(
      deps.changes.subscribe((change) => {
        if (clients.size > 0) deliver(change.village, frame(change.type, change.data));
      }),
    );
  }

  const routes = new Hono();
  routes.get('/api/v1/stream', (c) => {
    const scope = scopeOf(c);
    const sessionId = sessionIdOfRequest(c);
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    return streamSSE(c, async (stream) => {
      const client: Client = {
        scope,
        sessionId,
        frames: [],
        bytes: 0,
        closed: false,
        wake: () => {},
        kill: () => {
          outgoing?.destroy();
          stream.abort();
        },
      };
      clients.add(client);
      connected.inc();
      stream.onAbort(() => {
        client.closed = true;
        clients.delete(client);
        client.wake();
      });
      try {
        // retry: how long EventSource waits before reconnecting, ms.
        await stream.write('retry: 2000\n: connected\n\n');
        while (!client.closed) {
          if (client.frames.length === 0) {
            let timer: NodeJS.Timeout | undefined;
            const idle = await new Promise<boolean>((resolve) => {
              client.wake = () => resolve(false);
              timer = setTimeout(() => resolve(true), heartbeatMs);
            });
            clearTimeout(timer);
            client.wake = () => {};
            if (idle && !client.closed) await stream.write(': ping\n\n');
            continue;
          }
          const text = client.frames.join('');
          client.frames = [];
          client.bytes = 0;
          await stream.write(text);
        }
      } catch {
        // The client went away mid-write; nothing to tell it.
      } finally {
        clients.delete(client);
        connected.dec();
      }
    });
  });

  return {
    routes,
    close() {
      for (const u of unsubscribers) u();
      for (const client of [...clients]) drop(client);
    },
    endSession(id) {
      for (const client of [...clients]) {
        if (client.sessionId !== id) continue;
        deps.log.info({ actor: client.scope.actor }, 'SSE stream ended by logout');
        drop(client);
      }
    },
  };
}
