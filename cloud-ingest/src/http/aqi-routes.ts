import type { PublishedAqiResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { AqiPublisher } from '../rules-runtime/hourly-aqi-publisher.js';
import { ApiError } from './api-error.js';
import { parseLimit, parseTime } from './query-params.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

/**
 * The published AQI (docs/api.md "Published AQI"): hourly and daily rows per station, and the
 * newest hourly one of each station, confined to the caller's villages (another village's station
 * answers 404, as one that does not exist).
 */
export function createAqiRoutes(deps: {
  publisher: AqiPublisher;
  stationVillage: ReadonlyMap<string, string>;
}): Hono {
  const app = new Hono();
  app.get('/api/v1/aqi/latest', async (c) =>
    c.json({ aqi: await deps.publisher.latest(scopeOf(c).villages) } satisfies PublishedAqiResponse),
  );
  for (const kind of ['hourly', 'daily'] as const) {
    app.get(`/api/v1/aqi/${kind}`, async (c) => {
      const q = c.req.query();
      const scope = scopeOf(c);
      if (q.station && !canSeeVillage(scope, deps.stationVillage.get(q.station)))
        throw new ApiError(404, 'unknown_place', `no station ${q.station}`);
      return c.json({
        aqi: await deps.publisher.list({
          kind,
          ...(q.station ? { station: q.station } : {}),
          ...(q.from ? { from: parseTime('from', q.from) } : {}),
          ...(q.to ? { to: parseTime('to', q.to) } : {}),
          villages: scope.villages,
          limit: parseLimit(q.limit, 48, 10_000),
        }),
      } satisfies PublishedAqiResponse);
    });
  }
  return app;
}
