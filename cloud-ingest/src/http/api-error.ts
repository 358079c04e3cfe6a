/** An API refusal; rendered as `{ error: { code, message } }` with `status`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: 400 | 404 | 500,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
