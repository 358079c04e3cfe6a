import type { MiddlewareHandler } from 'hono';
import type { RequestScope } from '../http/request-scope.js';
import type { Db } from '../store/open-database.js';
import type { ApiToken, ApiTokenStore } from './api-token-store.js';
import { resolveUserScopes } from './place-scope.js';

/** Methods a read-only token may use. */
const READ_METHODS = new Set(['GET', 'HEAD']);

const refuse = (status: 401 | 403, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/** The scope of a token: the same villages and masking as a user of its role and place. */
export function tokenScope(db: Db, t: ApiToken): RequestScope {
  const actor = `token:${t.name}`;
  const user = { username: actor, role: t.role, place: t.place ?? undefined, name: t.name, passwordHash: '' };
  return resolveUserScopes(db, [user]).get(actor)!;
}

/**
 * `Authorization: Bearer <token>` on /api/v1: a live API token sets the request scope of its role
 * and place (and the 'apiToken' key, so routes can tell a token from a session); an unknown,
 * revoked or expired one is 401 (even in lab mode: a script must learn its token is dead); a
 * read-only token gets 403 on anything but GET/HEAD. Requests without the header go to `next`,
 * the cookie session middleware. /metrics keeps its own scraper token (auth/metrics-access.ts).
 */
export function createTokenMiddleware(deps: {
  db: Db;
  tokens: ApiTokenStore;
  sessions: MiddlewareHandler;
  now(): number;
}): MiddlewareHandler {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    if (authorization === undefined) return deps.sessions(c, next);
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
    const token = m ? await deps.tokens.verify(m[1]!, deps.now()) : undefined;
    if (!token)
      return refuse(401, 'bad_token', 'the bearer token is unknown, revoked or expired (GET /api/v1/tokens)');
    let scope: RequestScope;
    try {
      scope = tokenScope(deps.db, token);
    } catch {
      // Its place left registry.yaml since it was issued: the token reaches nothing.
      return refuse(
        401,
        'bad_token',
        `the token's ${token.role} ${token.place} is no longer in the registry`,
      );
    }
    if (token.access === 'read' && !READ_METHODS.has(c.req.method))
      return refuse(403, 'read_only_token', `token ${token.name} is read-only: ${c.req.method} is refused`);
    c.set('scope' as never, scope as never);
    c.set('apiToken' as never, token as never);
    return next();
  };
}
