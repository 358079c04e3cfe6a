import type { DeadLetterResponse, DeadLettersResponse, RedriveResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import type { DeadLetter, DeadLetterStore } from '../store/dead-letter-store.js';
import { ApiError } from './api-error.js';
import { parseLimit } from './query-params.js';
import { type RequestScope, scopeOf } from './request-scope.js';

/**
 * What a re-drive did: `stored` (committed, or already committed), `still_failing` with why, or
 * `in_progress` (another host is re-driving it right now).
 */
export type RedriveResult =
  | { result: 'stored'; outcome: string }
  | { result: 'still_failing'; reason: string }
  | { result: 'in_progress' };

export interface DeadLetterRouteDeps {
  deadLetters: DeadLetterStore;
  /** Runs the letter through the ingest (a batch) or the sink (a point) again; marks it redriven when stored. */
  redrive(id: number): Promise<RedriveResult>;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;
const STATES = new Set(['open', 'redriven']);

/**
 * Dead letters hold other villages' raw bytes and re-drive writes data: admins only. With no users
 * configured (lab and demo mode, every request has full access) they are open like the rest.
 */
function requireAdmin(scope: RequestScope): void {
  const labMode = scope.role === 'anonymous' && scope.villages === 'all';
  if (scope.role !== 'admin' && !labMode)
    throw new ApiError(403, 'forbidden', 'dead letters are for the admin role only');
}

function parseId(value: string): number {
  const id = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1)
    throw new ApiError(400, 'bad_param', `id must be a positive integer, got ${JSON.stringify(value)}`);
  return id;
}

/**
 * `GET /api/v1/dead-letters` (filters state, edge, reason; paging with before=<id>),
 * `GET /api/v1/dead-letters/:id` (with the bytes, base64) and
 * `POST /api/v1/dead-letters/:id/redrive` (docs/api.md "Dead letters").
 */
export function createDeadLetterRoutes(deps: DeadLetterRouteDeps): Hono {
  const app = new Hono();
  const getLetter = async (id: number) => {
    const l = await deps.deadLetters.get(id);
    if (l === undefined) throw new ApiError(404, 'unknown_dead_letter', `no dead letter ${id}`);
    return l;
  };

  app.get('/api/v1/dead-letters', async (c) => {
    requireAdmin(scopeOf(c));
    const q = c.req.query();
    if (q.state !== undefined && !STATES.has(q.state))
      throw new ApiError(400, 'bad_param', `state must be open or redriven, got ${JSON.stringify(q.state)}`);
    const deadLetters: DeadLetter[] = await deps.deadLetters.list({
      state: q.state as DeadLetter['state'] | undefined,
      edge: q.edge || undefined,
      reason: q.reason || undefined,
      beforeId: q.before === undefined ? undefined : parseId(q.before),
      limit: parseLimit(q.limit, DEFAULT_LIMIT, MAX_LIMIT),
    });
    return c.json({ deadLetters } satisfies DeadLettersResponse);
  });

  app.get('/api/v1/dead-letters/:id', async (c) => {
    requireAdmin(scopeOf(c));
    const { bytes, ...letter } = await getLetter(parseId(c.req.param('id')));
    return c.json({
      deadLetter: { ...letter, bytes: Buffer.from(bytes).toString('base64') },
    } satisfies DeadLetterResponse);
  });

  app.post('/api/v1/dead-letters/:id/redrive', async (c) => {
    requireAdmin(scopeOf(c));
    const id = parseId(c.req.param('id'));
    const alreadyRedriven = () =>
      new ApiError(409, 'already_redriven', `dead letter ${id} was already re-driven and stored`);
    const letter = await getLetter(id);
    if (letter.state === 'redriven') throw alreadyRedriven();
    if (!letter.bytesKept)
      throw new ApiError(
        409,
        'bytes_not_kept',
        `dead letter ${id} has no bytes to re-drive (the edge's letters were over the cap)`,
      );
    const r = await deps.redrive(id);
    if (r.result === 'in_progress')
      throw new ApiError(
        409,
        'redrive_in_progress',
        `dead letter ${id} is being re-driven right now (through another host): see its state shortly`,
      );
    if (r.result === 'still_failing') {
      // Another host's re-drive stored it since the check above.
      if ((await getLetter(id)).state === 'redriven') throw alreadyRedriven();
      throw new ApiError(409, 'still_failing', `dead letter ${id}: ${r.reason}`);
    }
    const { bytes: _bytes, ...after } = await getLetter(id);
    return c.json({ deadLetter: after, outcome: r.outcome } satisfies RedriveResponse);
  });

  return app;
}
