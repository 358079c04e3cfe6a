import type {
  IncidentResponseBody,
  IncidentsResponse,
  NotificationsResponse,
  SlaResponse,
} from '@village/protocol/api';
import type { IncidentOutcome } from '@village/rules';
import { Hono } from 'hono';
import { IncidentCommandError } from '../rules-runtime/incident-command-error.js';
import type { RulesRuntime } from '../rules-runtime/rules-runtime.js';
import { oneOf } from './alert-routes.js';
import { ApiError } from './api-error.js';
import { parseLimit, parseTime } from './query-params.js';
import { FULL_ACCESS, type RequestScope, canSeeVillage, scopeOf } from './request-scope.js';
import { placeSla, villageSla } from './sla-figures.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const MAX_NOTE = 2_000;
const ACTOR = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

/** A refused incident command as the API answers it: no such incident 404, wrong state 409, bad argument 400. */
function commandStatus(err: IncidentCommandError): 400 | 404 | 409 {
  if (err.code === 'unknown_incident') return 404;
  if (err.code === 'bad_transition') return 409;
  return 400;
}

/**
 * Who acts. With logins on, the officer of the session. Without any users configured (lab and
 * demo mode: nobody set a scope, so it is FULL_ACCESS), an `X-Actor` header may name the actor
 * so tests and scripts can attribute their acknowledgements; it is ignored once logins exist.
 */
function actorOf(scope: RequestScope, header: string | undefined): string {
  if (scope === FULL_ACCESS && header !== undefined && ACTOR.test(header)) return header;
  return scope.actor;
}

/**
 * Incidents (docs/api.md "Alerts and incidents"): list, one, acknowledge, resolve, the SLA
 * figures and an incident's notification deliveries. Every route filters by the caller's scope;
 * an incident of a village the caller cannot see is a 404, like one that does not exist.
 * The actor written into the audit trail is the scope's officer.
 */
export function createIncidentRoutes(runtime: RulesRuntime): Hono {
  const app = new Hono();

  const visible = async (scope: RequestScope, id: string) => {
    const i = await runtime.incident(id);
    if (!i || !canSeeVillage(scope, i.village))
      throw new ApiError(404, 'unknown_incident', `no incident ${id}`);
    return i;
  };

  const readNote = async (body: Promise<unknown>, required: boolean): Promise<string | undefined> => {
    let b: unknown;
    try {
      b = await body;
    } catch {
      if (!required) return undefined;
      throw new ApiError(400, 'bad_body', 'body must be a JSON object with a note');
    }
    const note = (b as { note?: unknown } | null)?.note;
    if (note === undefined && !required) return undefined;
    if (typeof note !== 'string' || note.trim() === '' || note.length > MAX_NOTE) {
      throw new ApiError(400, 'bad_param', `note must be a non-empty text of at most ${MAX_NOTE} characters`);
    }
    return note;
  };

  /** Closing needs an outcome (误报, 已到场处置, 送医, 其他): the rules library checks it after the state. */
  const readOutcome = async (body: Promise<unknown>): Promise<IncidentOutcome> =>
    ((await body.catch(() => null)) as { outcome?: IncidentOutcome } | null)?.outcome as IncidentOutcome;

  const run = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof IncidentCommandError) throw new ApiError(commandStatus(err), err.code, err.message);
      throw err;
    }
  };

  app.get('/api/v1/incidents', async (c) => {
    const q = c.req.query();
    const scope = scopeOf(c);
    const village = q.village || undefined;
    if (village !== undefined && !canSeeVillage(scope, village))
      return c.json({ incidents: [] } satisfies IncidentsResponse);
    return c.json({
      incidents: await runtime.incidents({
        state: oneOf('state', q.state, ['open', 'acknowledged', 'resolved'] as const),
        village,
        villages: scope.villages,
        limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
      }),
    } satisfies IncidentsResponse);
  });

  app.get('/api/v1/incidents/:id', async (c) =>
    c.json({ incident: await visible(scopeOf(c), c.req.param('id')) } satisfies IncidentResponseBody),
  );

  app.get('/api/v1/incidents/:id/notifications', async (c) => {
    const i = await visible(scopeOf(c), c.req.param('id'));
    return c.json({ notifications: await runtime.deliveries(i.id) } satisfies NotificationsResponse);
  });

  app.post('/api/v1/incidents/:id/ack', async (c) => {
    const scope = scopeOf(c);
    const i = await visible(scope, c.req.param('id'));
    const note = await readNote(c.req.json(), false);
    return c.json({
      incident: await run(() => runtime.acknowledge(i.id, actorOf(scope, c.req.header('x-actor')), note)),
    } satisfies IncidentResponseBody);
  });

  app.post('/api/v1/incidents/:id/arrive', async (c) => {
    const scope = scopeOf(c);
    const i = await visible(scope, c.req.param('id'));
    return c.json({
      incident: await run(() => runtime.arrive(i.id, actorOf(scope, c.req.header('x-actor')))),
    } satisfies IncidentResponseBody);
  });

  app.post('/api/v1/incidents/:id/resolve', async (c) => {
    const scope = scopeOf(c);
    const i = await visible(scope, c.req.param('id'));
    const body = c.req.json();
    const note = (await readNote(body, true))!;
    const outcome = await readOutcome(body);
    return c.json({
      incident: await run(() =>
        runtime.resolve(i.id, actorOf(scope, c.req.header('x-actor')), { outcome, note }),
      ),
    } satisfies IncidentResponseBody);
  });

  app.get('/api/v1/sla', async (c) => {
    const q = c.req.query();
    const from = q.from ? parseTime('from', q.from) : undefined;
    const to = q.to ? parseTime('to', q.to) : undefined;
    if (from !== undefined && to !== undefined && to <= from)
      throw new ApiError(400, 'bad_param', `to (${to}) must be after from (${from})`);
    const q2 = { from, to, villages: scopeOf(c).villages };
    const input = await runtime.slaInput(q2);
    const places = placeSla(input);
    return c.json({
      villages: villageSla(input),
      // Every response counted (joined alerts and re-arms too); a town or county row covers only
      // the villages this caller may see.
      byPlace: places,
    } satisfies SlaResponse);
  });

  return app;
}
