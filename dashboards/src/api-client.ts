/** A refused API call: the HTTP status and the API's `{ error: { code, message } }`. */
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

/** JSON call to /api/v1 on this origin; the session cookie rides along (same origin, HttpOnly). */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
  if (!res.ok) {
    if (res.status === 401 && path !== '/login') onUnauthenticated();
    throw new ApiFailure(res.status, body.error?.code ?? 'http', body.error?.message ?? res.statusText);
  }
  return body;
}
