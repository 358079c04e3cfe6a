import type {
  AdminAuditResponse,
  CreatedEntityResponse,
  IssuedEdgeCredential,
  PasswordSetResponse,
  RegistryEntitiesResponse,
  RemovedEntityResponse,
  RevokedEdgeCredentialsResponse,
} from '@village/protocol/api';
import { ConfigError, describeIssues } from '@village/service-kit';
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import type { SessionStore } from '../auth/session-store.js';
import { parseRegistry } from '../registry-file.js';
import { listAudit } from '../store/admin-audit.js';
import type { EdgeCredentialStore } from '../store/edge-credential-store.js';
import type { Db } from '../store/open-database.js';
import {
  ENTITY_KINDS,
  type EntityKind,
  RegistryChangeError,
  createEntity,
  listEntities,
  readEntity,
  removeEntity,
  setUserPassword,
  updateEntity,
} from '../store/registry-entities.js';
import { exportRegistry, importRegistry } from '../store/registry-import.js';
import { ApiError } from './api-error.js';
import { FULL_ACCESS, type RequestScope, scopeOf } from './request-scope.js';

const PLURAL: Record<string, EntityKind> = {
  counties: 'county',
  towns: 'town',
  villages: 'village',
  stations: 'station',
  edges: 'edge',
  devices: 'device',
  people: 'person',
  users: 'user',
};

/** How long the old secret still works after a rotation when the request names no overlap: one day. */
const DEFAULT_OVERLAP_S = 86_400;
const credentialRequest = z.strictObject({
  /** Seconds the current secret keeps working beside the new one (0: it stops now). At most 30 days. */
  overlapS: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(DEFAULT_OVERLAP_S),
});

export interface AdminRouteDeps {
  db: Db;
  credentials: EdgeCredentialStore;
  /** cloud.yaml's users: their usernames are taken, and their places may not be removed. */
  configUsers: readonly { username: string; role: string; place?: string | undefined }[];
  /** Throws (ConfigError) when the rules refuse the registry as changed: the change is undone. */
  checkRules(registry: ReturnType<typeof exportRegistry>): void;
  /** After every committed change: caches of places, users and rules read the store again. */
  onChange(): void;
  /**
   * Several hosts (store/registry-replica.ts): runs a registry change as the next version of the
   * shared registry, so it holds on every host. Without it (one host) the change is made as it is.
   */
  writeRegistry?: <T>(run: () => T) => Promise<T>;
  /** Closes the broker connections of an edge (removed, or its credentials revoked). */
  disconnectEdge(edge: string): number;
  /** The officers' sessions (cloud.db's, or PostgreSQL's with several hosts): a reset or removal ends a user's. */
  sessions: SessionStore;
  log: Logger;
  metricsRegistry: Registry;
  now(): number;
}

/**
 * The admin API under /api/v1/admin: create, change and remove every registry entity, issue,
 * rotate and revoke edge credentials, set officers' passwords, read the audit. For the admin role
 * only (and lab mode): county and town officers oversee their place but do not change the
 * registry, since an edge or officer added there reaches data and devices (docs/operations.md).
 * Every change is one transaction with its audit row, and takes effect at once.
 */
export function createAdminRoutes(deps: AdminRouteDeps): Hono {
  const app = new Hono();
  const changes = new Counter({
    name: 'cloud_admin_changes_total',
    help: 'Admin API changes of the registry and credentials, by entity, action and result (ok or an error code)',
    labelNames: ['entity', 'action', 'result'],
    registers: [deps.metricsRegistry],
  });
  const requireAdmin = (c: Context): RequestScope => {
    const scope = scopeOf(c);
    if (scope !== FULL_ACCESS && scope.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'the registry is changed by admins only');
    return scope;
  };
  const kindOf = (c: Context): EntityKind => {
    const kind = PLURAL[c.req.param('plural') ?? ''];
    if (kind === undefined)
      throw new ApiError(
        404,
        'unknown_entity',
        `no entity ${c.req.param('plural')} (one of ${Object.keys(PLURAL).join(', ')})`,
      );
    return kind;
  };
  const body = async (c: Context): Promise<unknown> =>
    c.req.json().catch(() => {
      throw new ApiError(400, 'bad_json', 'the body must be a JSON object');
    });
  const configUsernames = new Set(deps.configUsers.map((u) => u.username));
  const check = (kind: EntityKind, after: Record<string, unknown> | null) => {
    if (kind === 'user' && after !== null && configUsernames.has(after.id as string))
      throw new RegistryChangeError('exists', `user ${after.id} is configured in cloud.yaml`);
    const registry = exportRegistry(deps.db);
    const places = new Set<string>();
    for (const co of registry.counties) {
      places.add(`county:${co.id}`);
      for (const t of co.towns) {
        places.add(`town:${t.id}`);
        for (const v of t.villages) places.add(`village:${v.id}`);
      }
    }
    for (const u of deps.configUsers)
      if (u.role !== 'admin' && !places.has(`${u.role}:${u.place}`))
        throw new RegistryChangeError(
          'in_use',
          `cloud.yaml user ${u.username} is an officer of ${u.role} ${u.place}`,
        );
    try {
      deps.checkRules(registry);
    } catch (err) {
      if (err instanceof ConfigError) throw new RegistryChangeError('bad_entity', err.message);
      throw err;
    }
  };
  /** Runs a change: counts it, logs it, maps store errors to API errors, refreshes the caches. */
  const change = async <T>(
    kind: string,
    action: string,
    actor: string,
    id: string,
    run: () => T | Promise<T>,
  ): Promise<T> => {
    try {
      const result = await run();
      changes.inc({ entity: kind, action, result: 'ok' });
      deps.log.info({ actor, entity: kind, action, id }, 'registry changed');
      deps.onChange();
      return result;
    } catch (err) {
      if (!(err instanceof RegistryChangeError)) throw err;
      changes.inc({ entity: kind, action, result: err.code });
      deps.log.warn(
        { actor, entity: kind, action, id, code: err.code, err: err.message },
        'registry change refused',
      );
      const status = {
        not_found: 404,
        exists: 409,
        in_use: 409,
        unknown_parent: 400,
        bad_entity: 400,
      } as const;
      throw new ApiError(status[err.code], err.code, err.message);
    }
  };

  /** Runs a change of the registry (on every host when it is shared), as `change`. */
  const registryChange = <T>(kind: string, action: string, actor: string, id: string, run: () => T) =>
    change(kind, action, actor, id, () => (deps.writeRegistry ? deps.writeRegistry(run) : run()));

  app.get('/api/v1/admin/registry', (c) => {
    requireAdmin(c);
    const { users, ...registry } = exportRegistry(deps.db);
    return c.json({ ...registry, users: (users ?? []).map(({ passwordHash: _, ...u }) => u) });
  });
  // The whole registry at once, as `village-cloud registry import` does, but seen at once.
  app.put('/api/v1/admin/registry', async (c) => {
    const scope = requireAdmin(c);
    let file: ReturnType<typeof parseRegistry>;
    try {
      file = parseRegistry(await body(c), 'body');
    } catch (err) {
      if (err instanceof ConfigError) throw new ApiError(400, 'bad_registry', err.message);
      throw err;
    }
    const result = await registryChange('registry', 'import', scope.actor, '*', () =>
      deps.db.transaction(() => {
        const r = importRegistry(deps.db, file, { actor: scope.actor, now: deps.now() });
        check('county', null);
        return r;
      })(),
    );
    return c.json(result);
  });
  app.get('/api/v1/admin/audit', (c) => {
    requireAdmin(c);
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 200) || 200, 1), 10_000);
    return c.json({
      audit: listAudit(deps.db, { entity: c.req.query('entity'), entityId: c.req.query('id'), limit }),
    } satisfies AdminAuditResponse);
  });

  app.post('/api/v1/admin/edges/:id/credentials', async (c) => {
    const scope = requireAdmin(c);
    const id = c.req.param('id');
    const parsed = credentialRequest.safeParse(c.req.header('content-length') === '0' ? {} : await body(c));
    if (!parsed.success) throw new ApiError(400, 'bad_entity', describeIssues('body', parsed.error.issues));
    if (readEntity(deps.db, 'edge', id) === undefined) throw new ApiError(404, 'not_found', `no edge ${id}`);
    const issued = await change('edge', 'rotate-credential', scope.actor, id, () =>
      deps.credentials.issue(id, {
        actor: scope.actor,
        now: deps.now(),
        overlapMs: parsed.data.overlapS * 1000,
      }),
    );
    return c.json(issued satisfies IssuedEdgeCredential, 201);
  });
  app.get('/api/v1/admin/edges/:id/credentials', (c) => {
    requireAdmin(c);
    return c.json({ credentials: deps.credentials.list(c.req.param('id')) });
  });
  app.delete('/api/v1/admin/edges/:id/credentials', async (c) => {
    const scope = requireAdmin(c);
    const id = c.req.param('id');
    const revoked = await change('edge', 'revoke-credential', scope.actor, id, () =>
      deps.credentials.revoke(id, { actor: scope.actor, now: deps.now() }),
    );
    const disconnected = deps.disconnectEdge(id);
    return c.json({ edge: id, revoked, disconnected } satisfies RevokedEdgeCredentialsResponse);
  });
  app.put('/api/v1/admin/users/:id/password', async (c) => {
    const scope = requireAdmin(c);
    const id = c.req.param('id');
    if (configUsernames.has(id))
      throw new ApiError(
        409,
        'configured_in_file',
        `user ${id} is configured in cloud.yaml: change it there`,
      );
    const b = (await body(c)) as { password?: unknown };
    if (typeof b?.password !== 'string') throw new ApiError(400, 'bad_entity', 'password: must be a string');
    await registryChange('user', 'set-password', scope.actor, id, () =>
      setUserPassword(deps.db, id, b.password as string, { actor: scope.actor, now: deps.now() }),
    );
    // A reset is how an admin locks out whoever knew the old password: their sessions end with it,
    // on every host. Should this fail (PostgreSQL away), the error reaches the admin, who resets again.
    await deps.sessions.deleteUser(id);
    return c.json({ id, passwordSet: true } satisfies PasswordSetResponse);
  });

  app.get('/api/v1/admin/:plural', (c) => {
    requireAdmin(c);
    const kind = kindOf(c);
    return c.json({
      [c.req.param('plural')]: listEntities(deps.db, kind),
    } satisfies RegistryEntitiesResponse);
  });
  app.get('/api/v1/admin/:plural/:id', (c) => {
    requireAdmin(c);
    const kind = kindOf(c);
    const e = readEntity(deps.db, kind, c.req.param('id'));
    if (e === undefined) throw new ApiError(404, 'not_found', `no ${kind} ${c.req.param('id')}`);
    return c.json({ [kind]: e });
  });
  app.post('/api/v1/admin/:plural', async (c) => {
    const scope = requireAdmin(c);
    const kind = kindOf(c);
    const b = await body(c);
    const id = String((b as { id?: unknown })?.id ?? '');
    const ctx = { actor: scope.actor, now: deps.now(), check };
    // A new edge gets its first secret in the same answer (shown once), so it can connect at once.
    const created = await registryChange(kind, 'create', scope.actor, id, () =>
      deps.db.transaction(() => {
        const r = createEntity(deps.db, kind, b, ctx);
        const secret =
          kind === 'edge'
            ? deps.credentials.issue(id, { actor: scope.actor, now: ctx.now, overlapMs: 0 })
            : undefined;
        return { ...r, secret };
      })(),
    );
    return c.json(
      {
        [kind]: created.after,
        ...(created.secret ? { credential: created.secret } : {}),
      } satisfies CreatedEntityResponse,
      201,
    );
  });
  app.patch('/api/v1/admin/:plural/:id', async (c) => {
    const scope = requireAdmin(c);
    const kind = kindOf(c);
    const id = c.req.param('id');
    const b = await body(c);
    const r = await registryChange(kind, 'update', scope.actor, id, () =>
      updateEntity(deps.db, kind, id, b, { actor: scope.actor, now: deps.now(), check }),
    );
    return c.json({ [kind]: r.after, before: r.before });
  });
  app.delete('/api/v1/admin/:plural/:id', async (c) => {
    const scope = requireAdmin(c);
    const kind = kindOf(c);
    const id = c.req.param('id');
    const ctx = { actor: scope.actor, now: deps.now(), check };
    const r = await registryChange(kind, 'remove', scope.actor, id, () =>
      deps.db.transaction(() => {
        const removed = removeEntity(deps.db, kind, id, ctx);
        // A removed edge's secrets end with it, so it cannot come back by reconnecting.
        if (kind === 'edge') deps.credentials.revoke(id, { actor: scope.actor, now: ctx.now });
        return removed;
      })(),
    );
    const disconnected = kind === 'edge' ? deps.disconnectEdge(id) : 0;
    // A removed officer's sessions end with them (another host's copy of the registry may still list them).
    if (kind === 'user') await deps.sessions.deleteUser(id);
    return c.json({
      [kind]: null,
      before: r.before,
      ...(kind === 'edge' ? { disconnected } : {}),
    } satisfies RemovedEntityResponse);
  });
  return app;
}

export { ENTITY_KINDS };
