import { describe, expect, it } from 'vitest';
import { createViewTokens } from '../src/view-token.js';

describe('view tokens', () => {
  it('an answer for a view the user has left is recognised as stale', () => {
    const views = createViewTokens();
    const health = views.next();
    expect(views.current(health)).toBe(true);
    const overview = views.next(); // the user moved on before /edges answered
    expect(views.current(health)).toBe(false);
    expect(views.current(overview)).toBe(true);
  });
  it('coming back to the same view is a new view: the first visit stays stale', () => {
    const views = createViewTokens();
    const first = views.next();
    views.next();
    const again = views.next();
    expect(views.current(first)).toBe(false);
    expect(views.current(again)).toBe(true);
  });
});
