import { apiErrorBodySchema } from '@village/protocol/api';
import type { z } from 'zod/mini';

/**
 * A refused API call: the HTTP status and the API's `{ error: { code, message } }`; or, with code
 * `bad_response`, an answer that does not match @village/protocol/api (the message names the call
 * and the field), so a cloud and a dashboard that disagree show an error instead of wrong figures.
 */
export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called when a request answers 401 (the session expired): the app shows the login page. */
let onUnauthenticated: () => void = () => {};
export const setUnauthenticatedHandler = (f: () => void) => {
  onUnauthenticated = f;
};

/** Called with every answer that failed its schema (main.ts shows it); they are counted too. */
let onBadResponse: (err: ApiFailure) => void = () => {};
export const setBadResponseHandler = (f: (err: ApiFailure) => void) => {
  onBadResponse = f;
};
let badResponses = 0;
/** Answers refused by their schema since the page loaded. */
export const badResponseCount = () => badResponses;

/** `where: field message` for the first problems zod found, e.g. `incidents.0.deadline: expected number`. */
export function describeMismatch(where: string, error: z.core.$ZodError): string {
  const issues = error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  return `${where} answered outside the API contract: ${issues.join('; ')}`;
}

/**
 * JSON call to /api/v1 on this origin; the session cookie rides along (same origin, HttpOnly).
 * A successful answer is checked with `schema` before anyone reads it.
 */
export async function api<S extends z.ZodMiniType>(
  path: string,
  schema: S,
  init: { method?: string; body?: unknown } = {},
): Promise<z.infer<S>> {
  const method = init.method ?? 'GET';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const body: unknown = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== '/login') onUnauthenticated();
    const refusal = apiErrorBodySchema.safeParse(body);
    throw new ApiFailure(
      res.status,
      refusal.success ? refusal.data.error.code : 'http',
      refusal.success ? refusal.data.error.message : res.statusText,
    );
  }
  const checked = schema.safeParse(body);
  if (!checked.success) {
    badResponses++;
    const err = new ApiFailure(
      res.status,
      'bad_response',
      describeMismatch(`${method} ${path}`, checked.error),
    );
    console.error(err.message);
    onBadResponse(err);
    throw err;
  }
  return checked.data;
}
