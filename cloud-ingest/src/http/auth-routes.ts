import { Buffer } from 'node:buffer';
import type { LoginResponse, LogoutResponse, MeResponse } from '@village/protocol/api';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SESSION_COOKIE, userOf } from '../auth/auth-middleware.js';
import { clientAddress } from '../auth/client-address.js';
import { createLoginThrottle } from '../auth/login-throttle.js';
import { createWorkLimit } from '../auth/login-work-limit.js';
import { type SessionStore, sessionIdOf } from '../auth/session-store.js';
import type { AuthConfig, UserConfig } from '../auth/user-config.js';
import { hashPassword, verifyPassword } from '../password-hash.js';
import { ApiError } from './api-error.js';

export interface AuthRouteDeps {
  users: ReadonlyMap<string, UserConfig>;
  sessions: SessionStore;
  auth: AuthConfig;
  /** Whether the session cookie carries `Secure` (auth.secureCookie, else on with HTTPS). */
  secureCookie: boolean;
  /** Called with the session id (sessionIdOf) of a logout, so that session's live streams end. */
  onLogout?(sessionId: string): void;
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
    help: 'Login attempts, by result: ok | bad_credentials | bad_request | logins_off | throttled | busy',
    labelNames: ['result'],
    registers: [deps.metricsRegistry],
  });
  const throttled = new Counter({
    name: 'cloud_login_throttled_total',
    help: 'Logins refused (429) by a lock on the account or on the client address, by scope',
    labelNames: ['scope'],
    registers: [deps.metricsRegistry],
  });
  const throttle = createLoginThrottle(deps.auth.loginThrottle);
  const work = createWorkLimit(deps.auth.loginConcurrency, deps.auth.loginQueue);
  new Gauge({
    name: 'cloud_login_checks',
    help: 'Login password checks running or queued (bounded by auth.loginConcurrency + auth.loginQueue)',
    registers: [deps.metricsRegistry],
    collect() {
      this.set(work.load);
    },
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
    const address = clientAddress(c);
    const lock = throttle.locked(username, address, deps.now());
    if (lock) {
      logins.inc({ result: 'throttled' });
      throttled.inc({ scope: lock.scope });
      deps.log.warn(
        { username, address, scope: lock.scope, retryAfterMs: lock.retryAfterMs },
        'login throttled',
      );
      const seconds = Math.ceil(lock.retryAfterMs / 1000);
      throw new ApiError(
        429,
        'login_throttled',
        `too many failed logins for this ${lock.scope}: try again in ${seconds} s`,
        { 'retry-after': String(seconds) },
      );
    }
    const user = deps.users.get(username);
    const check = work.tryRun(() => verifyPassword(password, user?.passwordHash ?? decoyHash));
    if (check === undefined) {
      logins.inc({ result: 'busy' });
      deps.log.warn({ username, address }, 'login refused: too many password checks at once');
      throw new ApiError(503, 'login_busy', 'too many logins at once: try again in a second', {
        'retry-after': '1',
      });
    }
    const ok = await check;
    if (!user || !ok) {
      throttle.failed(username, address, deps.now());
      logins.inc({ result: 'bad_credentials' });
      deps.log.warn({ username, address, known: user !== undefined }, 'login refused');
      throw new ApiError(401, 'bad_credentials', 'wrong username or password');
    }
    throttle.succeeded(username);
    const now = deps.now();
    await deps.sessions.purge(now);
    const token = await deps.sessions.create(user.username, now, deps.auth.sessionTtlMs);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: deps.secureCookie,
      path: '/',
      maxAge: Math.floor(deps.auth.sessionTtlMs / 1000),
    });
    logins.inc({ result: 'ok' });
    deps.log.info({ username: user.username, role: user.role }, 'login');
    return c.json({
      user: publicUser(user),
      expiresAt: now + deps.auth.sessionTtlMs,
    } satisfies LoginResponse);
  });

  app.post('/api/v1/logout', async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) {
      await deps.sessions.delete(token);
      deps.onLogout?.(sessionIdOf(token));
    }
    deleteCookie(c, SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'Strict',
      secure: deps.secureCookie,
    });
    return c.json({ ok: true } satisfies LogoutResponse);
  });

  app.get('/api/v1/me', (c) => {
    // Open mode (no users): everyone is the anonymous full-access caller; the dashboard skips login.
    if (deps.users.size === 0) {
      return c.json({
        user: { username: 'anonymous', role: 'anonymous', place: null, name: 'anonymous' },
      } satisfies MeResponse);
    }
    const user = userOf(c);
    if (!user) throw new ApiError(401, 'unauthenticated', 'log in first (POST /api/v1/login)');
    return c.json({ user: publicUser(user) } satisfies MeResponse);
  });

  return app;
}
