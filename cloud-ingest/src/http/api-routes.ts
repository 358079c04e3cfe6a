import type {
  ApiErrorBody,
  BrokerLink,
  DevicesResponse,
  EventsResponse,
  HealthResponse,
  LatestResponse,
  SeriesResponse,
} from '@village/protocol/api';
import { Hono, type MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../metrics.js';
import { SharedStoreError } from '../shared-store/shared-store-error.js';
import type { Sink } from '../sink/sink.js';
import type { RegistryStore } from '../store/registry-store.js';
import { ApiError } from './api-error.js';
import { parseLimit, parseStep, parseTime, requireParam } from './query-params.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

export interface ApiDeps {
  sink: Sink;
  registry: RegistryStore;
  metrics: CloudMetrics;
  log: Logger;
  /** ms epoch when the process started. */
  startedAt: number;
  now(): number;
  /** Route modules of other concerns (commands, rules, live stream, auth), mounted beside these. */
  routes?: Hono[];
  /** Run before every /api/v1 route, in order; the auth middleware sets the request scope here. */
  middleware?: MiddlewareHandler[];
  /** Run before every route, first (Host and Origin checks, malformed paths, body limits). */
  guards?: MiddlewareHandler[];
  /** Decides who may read /metrics (auth/metrics-access.ts); absent = open. */
  metricsAccess?: MiddlewareHandler;
  /** External-broker mode: each broker and whether this worker is connected to it (in /health). */
  brokers?: (() => BrokerLink[]) | undefined;
}

/** Most buckets one series query may return (a wider range needs a coarser step). */
export const MAX_BUCKETS = 10_000;
/** Events returned when no limit is given, and the most one query may ask for. */
const DEFAULT_EVENT_LIMIT = 100;
const MAX_EVENT_LIMIT = 10_000;

/** The read API under /api/v1 plus Prometheus /metrics. Errors are `{ error: { code, message } }`. */
export function createApi(deps: ApiDeps): Hono {
  const { sink, registry } = deps;
  const app = new Hono();
  for (const g of deps.guards ?? []) app.use(g);
  // gzip JSON, JS and CSS (the overview of 200 stations was 358 KB raw); hono skips
  // text/event-stream, so the live stream is never buffered by a compressor.
  app.use(compress());

  app.onError((err, c) => {
    if (err instanceof ApiError)
      return c.json(
        { error: { code: err.code, message: err.message } } satisfies ApiErrorBody,
        err.status,
        err.headers,
      );
    // PostgreSQL away (several hosts): a session, token or command cannot be read. Refused, never
    // let through, and said to be passing; the url stays in the log, not in the answer.
    if (err instanceof SharedStoreError) {
      deps.log.warn(
        { err: err.message, code: err.code, path: c.req.path },
        'api request: shared store unavailable',
      );
      return c.json(
        {
          error: {
            code: 'store_unavailable',
            message: 'the shared store (PostgreSQL) is unavailable: try again shortly',
          },
        } satisfies ApiErrorBody,
        503,
        { 'retry-after': '1' },
      );
    }
    deps.log.error({ err: err.message, stack: err.stack, path: c.req.path }, 'api request failed');
    return c.json({ error: { code: 'internal', message: err.message } } satisfies ApiErrorBody, 500);
  });
  app.notFound((c) =>
    c.json(
      {
        error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` },
      } satisfies ApiErrorBody,
      404,
    ),
  );
  for (const m of deps.middleware ?? []) app.use('/api/v1/*', m);
  /** Ids of the devices in villages the caller may see (all of them with full access). */
  const visibleDevices = (c: Parameters<typeof scopeOf>[0]) => {
    const scope = scopeOf(c);
    return new Set(
      registry
        .devices()
        .filter((d) => canSeeVillage(scope, d.village))
        .map((d) => d.id),
    );
  };

  app.get('/api/v1/health', (c) =>
    c.json({
      status: 'ok',
      uptimeS: Math.round((deps.now() - deps.startedAt) / 1000),
      edges: registry
        .edges()
        .filter((e) => canSeeVillage(scopeOf(c), registry.placeOf(e.id).village))
        .map((e) => ({ id: e.id, online: e.online, boot: e.boot, lastSeen: e.lastSeen })),
      ...(deps.brokers ? { brokers: deps.brokers() } : {}),
    } satisfies HealthResponse),
  );

  app.get('/api/v1/devices', (c) =>
    c.json({
      devices: registry.devices().filter((d) => canSeeVillage(scopeOf(c), d.village)),
    } satisfies DevicesResponse),
  );

  app.get('/api/v1/latest', async (c) => {
    const q = c.req.query();
    const latest = await sink.latest({ device: q.device || undefined, station: q.station || undefined });
    if (scopeOf(c).villages === 'all') return c.json({ latest } satisfies LatestResponse);
    const visible = visibleDevices(c);
    return c.json({ latest: latest.filter((l) => visible.has(l.device)) } satisfies LatestResponse);
  });

  app.get('/api/v1/series', async (c) => {
    const q = c.req.query();
    const device = requireParam(q, 'device');
    const metric = requireParam(q, 'metric');
    const from = parseTime('from', requireParam(q, 'from'));
    const to = parseTime('to', requireParam(q, 'to'));
    const stepMs = parseStep(requireParam(q, 'step'));
    if (to <= from) throw new ApiError(400, 'bad_param', `to (${to}) must be after from (${from})`);
    // Out of scope looks the same as unknown: an officer does not learn which devices exist elsewhere.
    if (scopeOf(c).villages !== 'all' && !visibleDevices(c).has(device))
      throw new ApiError(404, 'unknown_series', `no series ${metric} for device ${device}`);
    const buckets = Math.ceil((to - from) / stepMs);
    if (buckets > MAX_BUCKETS) {
      throw new ApiError(
        400,
        'too_many_buckets',
        `${buckets} buckets requested, at most ${MAX_BUCKETS}: use a larger step`,
      );
    }
    const result = await sink.series({ device, metric, from, to, stepMs });
    if (result === undefined)
      throw new ApiError(404, 'unknown_series', `no series ${metric} for device ${device}`);
    return c.json({ device, metric, from, to, step: stepMs, buckets: result } satisfies SeriesResponse);
  });

  app.get('/api/v1/events', async (c) => {
    const q = c.req.query();
    const scope = scopeOf(c);
    const limit = parseLimit(q.limit, DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT);
    const events = await sink.events({
      device: q.device || undefined,
      type: q.type || undefined,
      from: q.from ? parseTime('from', q.from) : undefined,
      to: q.to ? parseTime('to', q.to) : undefined,
      // A narrowed scope filters after the query, so ask for the most and cut to `limit` after.
      limit: scope.villages === 'all' ? limit : MAX_EVENT_LIMIT,
    });
    if (scope.villages === 'all') return c.json({ events } satisfies EventsResponse);
    const visible = events.filter((e) => canSeeVillage(scope, registry.placeOf(e.edge).village));
    return c.json({ events: visible.slice(0, limit) } satisfies EventsResponse);
  });

  for (const r of deps.routes ?? []) app.route('/', r);

  if (deps.metricsAccess) app.use('/metrics', deps.metricsAccess);
  app.get('/metrics', async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  return app;
}
