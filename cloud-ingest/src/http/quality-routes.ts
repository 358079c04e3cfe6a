import {
  QUALITY_REVIEW_ROLES,
  QUALITY_WINDOW_ROLES,
  type QualityAuditResponse,
  type QualityChangeResponse,
  type QualityFlagsResponse,
  type QualityWindowResponse,
  type QualityWindowsResponse,
} from '@village/protocol/api';
import { Hono } from 'hono';
import { z } from 'zod';
import { QualityCommandError, type QualityFlags } from '../rules-runtime/quality-flags.js';
import { ApiError } from './api-error.js';
import { parseLimit, parseTime } from './query-params.js';
import { FULL_ACCESS, type RequestScope, canSeeVillage, scopeOf } from './request-scope.js';

/** Who may set windows and who may review data: one list, in the API contract, for the dashboard too. */
export const WINDOW_ROLES: readonly RequestScope['role'][] = QUALITY_WINDOW_ROLES;
export const REVIEW_ROLES: readonly RequestScope['role'][] = QUALITY_REVIEW_ROLES;

const MAX_REASON = 2_000;
const id = z.string().min(1).max(200);
const time = z.union([z.number().int(), z.string().min(1)]);
const windowBody = z.strictObject({
  kind: z.enum(['maintenance', 'calibration']),
  from: time,
  to: time,
  device: id.optional(),
  station: id.optional(),
  metrics: z.array(id).max(50).optional(),
  reason: z.string().max(MAX_REASON).optional(),
});
const changeBody = z.strictObject({
  from: time,
  to: time,
  device: id.optional(),
  station: id.optional(),
  metric: id.optional(),
  reason: z.string().min(1).max(MAX_REASON),
});

const timeOf = (name: string, v: number | string) => (typeof v === 'number' ? v : parseTime(name, v));

/**
 * Quality control (docs/api.md "Data quality"): flagged readings, the audit of every flag change,
 * maintenance/calibration windows, and an officer's invalidation or restore of a range. Every
 * route is confined to the caller's villages; a station or device outside them is a 404.
 */
export function createQualityRoutes(deps: {
  quality: QualityFlags;
  /** station id → village id (the registry). */
  stationVillage: ReadonlyMap<string, string>;
}): Hono {
  const { quality } = deps;
  const app = new Hono();

  const villageOf = async (where: { station?: string; device?: string }): Promise<string | undefined> => {
    if (where.station !== undefined) return deps.stationVillage.get(where.station);
    if (where.device !== undefined) return (await quality.placeOf(where.device))?.village ?? undefined;
    return undefined;
  };
  const confine = async (scope: RequestScope, where: { station?: string; device?: string }) => {
    if (where.station === undefined && where.device === undefined) {
      if (scope.villages === 'all') return;
      throw new ApiError(400, 'missing_param', 'give a station or a device');
    }
    const village = await villageOf(where);
    if (!canSeeVillage(scope, village)) {
      const what = where.station !== undefined ? `station ${where.station}` : `device ${where.device}`;
      throw new ApiError(404, 'unknown_place', `no ${what}`);
    }
  };
  const allow = (scope: RequestScope, roles: readonly RequestScope['role'][], what: string) => {
    if (scope !== FULL_ACCESS && !roles.includes(scope.role))
      throw new ApiError(
        403,
        'forbidden',
        `role ${scope.role} may not ${what} (allowed: ${roles.join(', ')})`,
      );
  };
  const body = async <T>(c: { req: { json(): Promise<unknown> } }, schema: z.ZodType<T>): Promise<T> => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ApiError(400, 'bad_body', 'body must be a JSON object');
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new ApiError(400, 'bad_body', `${i.path.join('.') || 'body'}: ${i.message}`);
    }
    return r.data;
  };
  const run = async <T>(fn: () => Promise<T> | T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof QualityCommandError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
  };
  const query = (q: Record<string, string>) => ({
    ...(q.station ? { station: q.station } : {}),
    ...(q.device ? { device: q.device } : {}),
    ...(q.from ? { from: parseTime('from', q.from) } : {}),
    ...(q.to ? { to: parseTime('to', q.to) } : {}),
  });

  app.get('/api/v1/quality/flags', async (c) => {
    const q = c.req.query();
    const where = query(q);
    await confine(scopeOf(c), where);
    return c.json({
      flags: await quality.flags({
        ...where,
        ...(q.metric ? { metric: q.metric } : {}),
        notNormal: q.all !== 'true',
        limit: parseLimit(q.limit, 100, 10_000),
      }),
    } satisfies QualityFlagsResponse);
  });

  app.get('/api/v1/quality/audit', async (c) => {
    const q = c.req.query();
    const where = query(q);
    await confine(scopeOf(c), where);
    return c.json({
      audit: await quality.audit({ ...where, limit: parseLimit(q.limit, 100, 10_000) }),
    } satisfies QualityAuditResponse);
  });

  app.get('/api/v1/quality/windows', async (c) => {
    const scope = scopeOf(c);
    const windows: Awaited<ReturnType<QualityFlags['windows']>> = [];
    for (const w of await quality.windows()) if (canSeeVillage(scope, await villageOf(w))) windows.push(w);
    return c.json({ windows } satisfies QualityWindowsResponse);
  });

  app.post('/api/v1/quality/windows', async (c) => {
    const scope = scopeOf(c);
    allow(scope, WINDOW_ROLES, 'set maintenance or calibration windows');
    const b = await body(c, windowBody);
    const where = { ...(b.station ? { station: b.station } : {}), ...(b.device ? { device: b.device } : {}) };
    if (!where.station && !where.device)
      throw new ApiError(400, 'bad_body', 'a window names a device or a station');
    await confine(scope, where);
    const w = await run(() =>
      quality.setWindow({
        kind: b.kind,
        from: timeOf('from', b.from),
        to: timeOf('to', b.to),
        ...where,
        ...(b.metrics ? { metrics: b.metrics } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
        actor: scope.actor,
      }),
    );
    return c.json({ window: w } satisfies QualityWindowResponse, 201);
  });

  app.delete('/api/v1/quality/windows/:id', async (c) => {
    const scope = scopeOf(c);
    allow(scope, WINDOW_ROLES, 'remove maintenance or calibration windows');
    const w = (await quality.windows()).find((x) => x.id === c.req.param('id'));
    if (!w || !canSeeVillage(scope, await villageOf(w)))
      throw new ApiError(404, 'unknown_window', `no active window ${c.req.param('id')}`);
    return c.json({
      window: await run(() => quality.removeWindow(w.id, scope.actor)),
    } satisfies QualityWindowResponse);
  });

  for (const action of ['invalidate', 'restore'] as const) {
    app.post(`/api/v1/quality/${action}`, async (c) => {
      const scope = scopeOf(c);
      allow(scope, REVIEW_ROLES, `${action} data`);
      const b = await body(c, changeBody);
      const where = {
        ...(b.station ? { station: b.station } : {}),
        ...(b.device ? { device: b.device } : {}),
      };
      if (!where.station && !where.device) throw new ApiError(400, 'bad_body', 'give a device or a station');
      await confine(scope, where);
      const entry = await run(() =>
        quality.change(
          action,
          {
            ...where,
            ...(b.metric ? { metric: b.metric } : {}),
            from: timeOf('from', b.from),
            to: timeOf('to', b.to),
          },
          scope.actor,
          b.reason,
        ),
      );
      return c.json({ change: entry } satisfies QualityChangeResponse);
    });
  }
  return app;
}
