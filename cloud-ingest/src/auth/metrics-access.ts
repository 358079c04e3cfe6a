import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { RequestScope } from '../http/request-scope.js';
import { SESSION_COOKIE } from './auth-middleware.js';
import type { SessionStore } from './session-store.js';

export interface MetricsAccessDeps {
  /** Configured usernames; none = lab mode. */
  users: ReadonlySet<string>;
  scopes: ReadonlyMap<string, RequestScope>;
  sessions: SessionStore;
  /** http.metricsTokenSha256: SHA-256 hex of the Prometheus bearer token. */
  tokenSha256: string | undefined;
  now(): number;
}

const refuse = (status: 401 | 403, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/**
 * Who may read `/metrics` (it names every edge, village and failure): a scraper with
 * `Authorization: Bearer <token>` whose SHA-256 is http.metricsTokenSha256, or an admin's session.
 * Lab mode without a token leaves it open like the rest of the API.
 */
export function createMetricsAccess(deps: MetricsAccessDeps): MiddlewareHandler {
  const expected = deps.tokenSha256 === undefined ? undefined : Buffer.from(deps.tokenSha256, 'hex');
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    if (authorization !== undefined) {
      const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
      const got = m ? createHash('sha256').update(m[1]!).digest() : undefined;
      if (expected && got && timingSafeEqual(got, expected)) return next();
      return refuse(401, 'bad_token', 'the bearer token for /metrics is wrong (http.metricsTokenSha256)');
    }
    const token = getCookie(c, SESSION_COOKIE);
    const session = token ? await deps.sessions.get(token, deps.now()) : undefined;
    const scope = session ? deps.scopes.get(session.username) : undefined;
    if (scope?.role === 'admin') return next();
    if (scope) return refuse(403, 'forbidden', '/metrics is for admins and the Prometheus token');
    if (deps.users.size === 0 && expected === undefined) return next();
    return refuse(401, 'unauthenticated', '/metrics needs an admin session or a bearer token');
  };
}
