/**
 * Which view is on screen, as a number that changes on every route. A view that loads data
 * before it renders keeps the token it started with and drops the answer if the user has moved
 * on: a late answer must not replace the app's data or the current view's cleanup.
 */
export interface ViewTokens {
  /** Starts a new view and returns its token. */
  next(): number;
  /** True while `token` is still the view on screen. */
  current(token: number): boolean;
}

export function createViewTokens(): ViewTokens {
  let latest = 0;
  return {
    next: () => ++latest,
    current: (token) => token === latest,
  };
}
