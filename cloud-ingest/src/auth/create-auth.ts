import type { Hono, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAuthRoutes } from '../http/auth-routes.js';
import type { Db } from '../store/open-database.js';
import { createAuthMiddleware } from './auth-middleware.js';
import { resolveUserScopes } from './place-scope.js';
import { openSessionStore } from './session-store.js';
import { type AuthConfig, type UserConfig, authOrDefaults } from './user-config.js';

/**
 * Logins for the cloud: the sessions table, each user's scope from the registry (checked at start:
 * a user whose place is unknown is a ConfigError), the middleware every /api/v1 route runs behind,
 * and the login routes. Call after the registry store has mirrored registry.yaml.
 */
export function createAuth(opts: {
  db: Db;
  /** cloud.yaml `users:` (absent = logins off). */
  users: readonly UserConfig[] | undefined;
  /** cloud.yaml `auth:` (absent = defaults). */
  auth: AuthConfig | undefined;
  log: Logger;
  metricsRegistry: Registry;
  now(): number;
}): { middleware: MiddlewareHandler; routes: Hono } {
  const users = new Map((opts.users ?? []).map((u) => [u.username, u]));
  const scopes = resolveUserScopes(opts.db, [...users.values()]);
  const sessions = openSessionStore(opts.db);
  sessions.purge(opts.now());
  if (users.size === 0) opts.log.info('no users configured: logins are off, the API is open');
  return {
    middleware: createAuthMiddleware({ users, scopes, sessions, now: opts.now }),
    routes: createAuthRoutes({ ...opts, auth: authOrDefaults(opts.auth), users, sessions }),
  };
}
