/**
 * The shared store could not be used: `bad_url` (the configured url is not a postgres:// url),
 * `unreachable` (no connection: refused, timed out, dropped, or the server is shutting down or
 * starting up; the call may be retried once it is back), `refused` (the server answered but
 * refused the connection: password, role, database). Messages name the server by its url with the
 * password left out.
 */
export type SharedStoreErrorCode = 'bad_url' | 'unreachable' | 'refused';

export class SharedStoreError extends Error {
  override readonly name = 'SharedStoreError';
  constructor(
    readonly code: SharedStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `url` for logs and errors: its password replaced by `***`; an unparsable url by a placeholder. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}
