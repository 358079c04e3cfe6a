import type { IssuedTokenResponse, RevokedTokenResponse, TokensResponse } from '@village/protocol/api';
import { describeIssues } from '@village/service-kit';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApiTokenStore } from '../auth/api-token-store.js';
import { tokenScope } from '../auth/token-middleware.js';
import { ROLES } from '../auth/user-config.js';
import type { Db } from '../store/open-database.js';
import { ApiError } from './api-error.js';
import { FULL_ACCESS, scopeOf } from './request-scope.js';

const DAY_S = 86_400;

const newTokenSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._@-]'),
    role: z.enum(ROLES),
    place: z.string().min(1).max(128).optional(),
    access: z.enum(['read', 'read-write']),
    /** Lifetime in seconds: default 90 days, at most a year, so no token lives forever. */
    expiresInS: z
      .number()
      .int()
      .min(1)
      .max(366 * DAY_S)
      .default(90 * DAY_S),
  })
  .refine((t) => (t.role === 'admin') === (t.place === undefined), {
    message: 'place is required for county, town and village tokens, and not allowed for admin',
    path: ['place'],
  });

/**
 * `POST /api/v1/tokens` (shows the secret once), `GET /api/v1/tokens`, `DELETE /api/v1/tokens/:id`:
 * for admins only (and lab mode, where everything is open). Each issue and revoke is logged with
 * the actor; the token rows keep who issued them and when they were revoked.
 */
export function createTokenRoutes(deps: { db: Db; tokens: ApiTokenStore; log: Logger; now(): number }): Hono {
  const app = new Hono();
  const requireAdmin = (c: Parameters<typeof scopeOf>[0]) => {
    const scope = scopeOf(c);
    if (scope !== FULL_ACCESS && scope.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'API tokens are managed by admins');
    return scope;
  };
  app.post('/api/v1/tokens', async (c) => {
    const scope = requireAdmin(c);
    const body = await c.req.json().catch(() => {
      throw new ApiError(400, 'bad_json', 'the body must be a JSON object');
    });
    const parsed = newTokenSchema.safeParse(body);
    if (!parsed.success)
      throw new ApiError(400, 'bad_token_request', describeIssues('body', parsed.error.issues));
    const { name, role, place, access, expiresInS } = parsed.data;
    const now = deps.now();
    const draft = {
      name,
      role,
      place: place ?? null,
      access,
      createdBy: scope.actor,
      expiresAt: now + expiresInS * 1000,
    };
    try {
      tokenScope(deps.db, { ...draft, id: '', createdAt: now, revokedAt: null });
    } catch {
      throw new ApiError(400, 'unknown_place', `place: no ${role} ${place} in the registry`);
    }
    const { token, record } = await deps.tokens.issue(draft, now);
    deps.log.info({ actor: scope.actor, id: record.id, name, role, place, access }, 'api token issued');
    return c.json({ token, ...record } satisfies IssuedTokenResponse, 201);
  });
  app.get('/api/v1/tokens', async (c) => {
    requireAdmin(c);
    return c.json({ tokens: await deps.tokens.list() } satisfies TokensResponse);
  });
  app.delete('/api/v1/tokens/:id', async (c) => {
    const scope = requireAdmin(c);
    const id = c.req.param('id');
    if (!(await deps.tokens.revoke(id, deps.now())))
      throw new ApiError(404, 'unknown_token', `no live token ${id}`);
    deps.log.info({ actor: scope.actor, id }, 'api token revoked');
    return c.json({ id, revoked: true } satisfies RevokedTokenResponse);
  });
  return app;
}
