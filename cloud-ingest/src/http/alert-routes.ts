import type { AlertsResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { RulesRuntime } from '../rules-runtime/rules-runtime.js';
import { ApiError } from './api-error.js';
import { parseLimit } from './query-params.js';
import { canSeeVillage, scopeOf } from './request-scope.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** Value of an enumerated query parameter, or undefined when absent; 400 names the allowed values. */
export function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ApiError(
      400,
      'bad_param',
      `${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** `GET /api/v1/alerts` (docs/api.md "Alerts and incidents"), filtered by the caller's villages. */
export function createAlertRoutes(runtime: RulesRuntime): Hono {
  const app = new Hono();
  app.get('/api/v1/alerts', async (c) => {
    const q = c.req.query();
    const scope = scopeOf(c);
    const village = q.village || undefined;
    // Asking for a village outside the scope is an empty answer, not an error that confirms it exists.
    if (village !== undefined && !canSeeVillage(scope, village))
      return c.json({ alerts: [] } satisfies AlertsResponse);
    return c.json({
      alerts: await runtime.alerts({
        state: oneOf('state', q.state, ['active', 'cleared'] as const),
        village,
        severity: oneOf('severity', q.severity, ['info', 'warning', 'critical'] as const),
        rule: q.rule || undefined,
        villages: scope.villages,
        limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
      }),
    } satisfies AlertsResponse);
  });
  return app;
}
