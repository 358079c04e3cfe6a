import type { Hono, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAuthRoutes } from '../http/auth-routes.js';
import { createTokenRoutes } from '../http/token-routes.js';
import type { Db } from '../store/open-database.js';
import { type ApiTokenStore, openApiTokenStore } from './api-token-store.js';
import { createAuthMiddleware } from './auth-middleware.js';
import { createMetricsAccess } from './metrics-access.js';
import { resolveUserScopes } from './place-scope.js';
import { type SessionStore, openSessionStore } from './session-store.js';
import { createTokenMiddleware } from './token-middleware.js';
import { type AuthConfig, type UserConfig, authOrDefaults } from './user-config.js';

/**
 * Logins for the cloud: the sessions and API tokens (cloud.db's, or the SharedStore's with several
 * hosts), each user's scope from the registry (checked at start:
 * a user whose place is unknown is a ConfigError), the middleware every /api/v1 route runs behind,
 * the login routes and the guard of /metrics. Call after the registry store has mirrored registry.yaml.
 */
export function createAuth(opts: {
  db: Db;
  /**
   * `store.kind: postgres`: the SharedStore's sessions and API tokens, so every host knows what any
   * host made, ended or revoked (absent = cloud.db's own).
   */
  shared?: { sessions: SessionStore; apiTokens: ApiTokenStore };
  /** cloud.yaml `users:` (absent = logins off). */
  users: readonly UserConfig[] | undefined;
  /** Officers an admin added in the store (store/registry-entities.ts); cloud.yaml wins a name clash. */
  storeUsers?: () => UserConfig[];
  /** cloud.yaml `auth:` (absent = defaults). */
  auth: AuthConfig | undefined;
  /** Whether the API serves HTTPS: the session cookie is Secure then unless auth.secureCookie says otherwise. */
  tls: boolean;
  /** http.metricsTokenSha256. */
  metricsTokenSha256: string | undefined;
  /** A logout of this session id: end its live streams. */
  onLogout(sessionId: string): void;
  log: Logger;
  metricsRegistry: Registry;
  now(): number;
}): {
  middleware: MiddlewareHandler;
  routes: Hono;
  tokenRoutes: Hono;
  metricsAccess: MiddlewareHandler;
  /** The sessions the routes use: the admin API ends a user's when it resets or removes them. */
  sessions: SessionStore;
  /** Reads users and their scopes again after an admin change (a user whose place is gone is dropped). */
  refreshUsers(): void;
} {
  const users = new Map((opts.users ?? []).map((u) => [u.username, u]));
  const scopes = resolveUserScopes(opts.db, [...users.values()]);
  const refreshUsers = () => {
    users.clear();
    scopes.clear();
    for (const u of [...(opts.users ?? []), ...(opts.storeUsers?.() ?? [])]) {
      if (users.has(u.username)) continue;
      try {
        scopes.set(u.username, resolveUserScopes(opts.db, [u]).get(u.username)!);
        users.set(u.username, u);
      } catch {}
    }
  };
  refreshUsers();
  const sessions = opts.shared?.sessions ?? openSessionStore(opts.db);
  // Each login purges too; a failure here (PostgreSQL away at start) only leaves expired rows.
  sessions
    .purge(opts.now())
    .catch((err: Error) => opts.log.warn({ err: err.message }, 'expired sessions not purged'));
  // Warn on every start, not once: an open API must never look like a normal configuration.
  if (users.size === 0)
    opts.log.warn(
      'lab mode: no users configured, logins are off and the API is open to anyone who reaches it',
    );
  const auth = authOrDefaults(opts.auth);
  const tokens = opts.shared?.apiTokens ?? openApiTokenStore(opts.db);
  const sessionAuth = createAuthMiddleware({ users, scopes, sessions, now: opts.now });
  return {
    refreshUsers,
    sessions,
    // A bearer token (api-token-store.ts) answers for itself; without one, the session cookie.
    middleware: createTokenMiddleware({ db: opts.db, tokens, sessions: sessionAuth, now: opts.now }),
    tokenRoutes: createTokenRoutes({ db: opts.db, tokens, log: opts.log, now: opts.now }),
    routes: createAuthRoutes({
      ...opts,
      auth,
      secureCookie: auth.secureCookie ?? opts.tls,
      users,
      sessions,
    }),
    metricsAccess: createMetricsAccess({
      users: new Set(users.keys()),
      scopes,
      sessions,
      tokenSha256: opts.metricsTokenSha256,
      now: opts.now,
    }),
  };
}
