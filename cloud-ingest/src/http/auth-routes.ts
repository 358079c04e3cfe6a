import { Buffer } from 'node:buffer';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { SESSION_COOKIE, userOf } from '../auth/auth-middleware.js';
import type { SessionStore } from '../auth/session-store.js';
import type { AuthConfig, UserConfig } from '../auth/user-config.js';
import { hashPassword, verifyPassword } from '../password-hash.js';
import { ApiError } from './api-error.js';

export interface AuthRouteDeps {
  users: ReadonlyMap<string, UserConfig>;
  sessions: SessionStore;
  auth: AuthConfig;
  log: Logger;
  /** The cloud's Prometheus registry: `cloud_logins_total{result}` is registered on it. */
  metricsRegistry: Registry;
  now(): number;
}

/** Longest password accepted, bytes: scrypt hashes any length, but a login is not a place for megabytes. */
const MAX_PASSWORD_BYTES = 1024;

const publicUser = (u: UserConfig) => ({
  username: u.username,
  role: u.role,
  place: u.place ?? null,
  name: u.name,
});

/** `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me` (docs/api.md "Sessions"). */
export function createAuthRoutes(deps: AuthRouteDeps): Hono {
  const app = new Hono();
  const logins = new Counter({
    name: 'cloud_logins_total',
    help: 'Login attempts, by result: ok | bad_credentials | bad_request | logins_off',
    labelNames: ['result'],
    registers: [deps.metricsRegistry],
  });
  // An unknown username is checked against this hash too, so the answer takes as long as for a
  // known one and does not tell which usernames exist.
  const decoyHash = hashPassword(`decoy-${Math.random()}`);

  app.post('/api/v1/login', async (c) => {
    if (deps.users.size === 0) {
      logins.inc({ result: 'logins_off' });
      throw new ApiError(404, 'logins_off', 'no users are configured: logins are off and access is open');
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      logins.inc({ result: 'bad_request' });
      throw new ApiError(400, 'bad_body', 'body must be a JSON object { username, password }');
    }
    const { username, password } = (body ?? {}) as Record<string, unknown>;
    if (typeof username !== 'string' || username.length === 0 || username.length > 64) {
      logins.inc({ result: 'bad_request' });
      throw new ApiError(400, 'bad_param', 'username must be a string of 1-64 characters');
    }
    if (typeof password !== 'string' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      logins.inc({ result: 'bad_request' });
      throw new ApiError(
        400,
        'bad_param',
        `password must be a string of at most ${MAX_PASSWORD_BYTES} bytes`,
      );
    }
    const user = deps.users.get(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? decoyHash);
    if (!user || !ok) {
      logins.inc({ result: 'bad_credentials' });
      deps.log.warn({ username, known: user !== undefined }, 'login refused');
      throw new ApiError(401, 'bad_credentials', 'wrong username or password');
    }
    const now = deps.now();
    deps.sessions.purge(now);
    const token = deps.sessions.create(user.username, now, deps.auth.sessionTtlMs);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: deps.auth.secureCookie,
      path: '/',
      maxAge: Math.floor(deps.auth.sessionTtlMs / 1000),
    });
    logins.inc({ result: 'ok' });
    deps.log.info({ username: user.username, role: user.role }, 'login');
    return c.json({ user: publicUser(user), expiresAt: now + deps.auth.sessionTtlMs });
  });

  app.post('/api/v1/logout', (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) deps.sessions.delete(token);
    deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict' });
    return c.json({ ok: true });
  });

  app.get('/api/v1/me', (c) => {
    // Open mode (no users): everyone is the anonymous full-access caller; the dashboard skips login.
    if (deps.users.size === 0) {
      return c.json({ user: { username: 'anonymous', role: 'anonymous', place: null, name: 'anonymous' } });
    }
    const user = userOf(c);
    if (!user) throw new ApiError(401, 'unauthenticated', 'log in first (POST /api/v1/login)');
    return c.json({ user: publicUser(user) });
  });

  return app;
}
