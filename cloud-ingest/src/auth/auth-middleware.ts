import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { FULL_ACCESS, type RequestScope } from '../http/request-scope.js';
import { NO_ACCESS } from './place-scope.js';
import { type SessionStore, sessionIdOf } from './session-store.js';
import type { UserConfig } from './user-config.js';

/** Name of the HttpOnly, SameSite=Strict cookie holding the session token. */
export const SESSION_COOKIE = 'village_session';

export interface AuthMiddlewareDeps {
  users: ReadonlyMap<string, UserConfig>;
  /** Scope of each username (resolveUserScopes). */
  scopes: ReadonlyMap<string, RequestScope>;
  sessions: SessionStore;
  now(): number;
}

/** Routes that answer without a session; they run with the NO_ACCESS scope (health lists no edges). */
const PUBLIC = new Set(['POST /api/v1/login', 'POST /api/v1/logout', 'GET /api/v1/health']);

/**
 * Sets `c.set('scope', RequestScope)` (and `c.set('user', UserConfig)` when logged in) for every
 * /api/v1 request. With no users configured every request gets FULL_ACCESS (lab and demo mode);
 * otherwise a request without a live session gets 401, except for the PUBLIC routes.
 */
export function createAuthMiddleware(deps: AuthMiddlewareDeps): MiddlewareHandler {
  return async (c, next) => {
    if (deps.users.size === 0) {
      c.set('scope' as never, FULL_ACCESS as never);
      return next();
    }
    const token = getCookie(c, SESSION_COOKIE);
    const session = token ? await deps.sessions.get(token, deps.now()) : undefined;
    const user = session ? deps.users.get(session.username) : undefined;
    const scope = user ? deps.scopes.get(user.username) : undefined;
    if (user && scope && token) {
      c.set('scope' as never, scope as never);
      c.set('user' as never, user as never);
      c.set('sessionId' as never, sessionIdOf(token) as never);
      return next();
    }
    if (PUBLIC.has(`${c.req.method} ${c.req.path}`)) {
      c.set('scope' as never, NO_ACCESS as never);
      return next();
    }
    return c.json(
      {
        error: {
          code: 'unauthenticated',
          message: session ? 'the session user is no longer configured' : 'log in first (POST /api/v1/login)',
        },
      },
      401,
    );
  };
}

/** The logged-in user of this request, if any. */
export function userOf(c: { get(key: never): unknown }): UserConfig | undefined {
  return c.get('user' as never) as UserConfig | undefined;
}

/** The session id (sessionIdOf) of this request when logged in, so a logout can end its streams. */
export function sessionIdOfRequest(c: { get(key: never): unknown }): string | undefined {
  return c.get('sessionId' as never) as string | undefined;
}
