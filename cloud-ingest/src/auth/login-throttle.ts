import type { AuthConfig } from './user-config.js';

/**
 * Failed-login bookkeeping, per account and per client address, so neither a password guesser on
 * one account nor one address spraying many accounts gets more than a few tries. After the free
 * failures, each further failure locks the key for baseDelayMs·2^k (k = failures beyond the free
 * ones, minus one), at most maxDelayMs. While locked, a login is refused before any password is
 * checked, so a locked attacker costs no scrypt work and does not extend the lock. A success
 * clears the account's record but not the address's (a valid account must not reset a sprayer).
 *
 * The state is in memory: a restart forgives, which an attacker cannot cause from outside; several
 * cloud hosts each keep their own (docs/security.md "Login throttling").
 */
export type ThrottleScope = 'account' | 'address';

export interface LoginThrottle {
  /** The lock that refuses this login now, if any. */
  locked(
    username: string,
    address: string,
    now: number,
  ): { scope: ThrottleScope; retryAfterMs: number } | undefined;
  failed(username: string, address: string, now: number): void;
  succeeded(username: string): void;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

/** Keys kept per scope; the oldest are forgotten first, so a spray of usernames cannot grow memory. */
const MAX_KEYS = 10_000;

export function createLoginThrottle(config: AuthConfig['loginThrottle']): LoginThrottle {
  const maps: Record<ThrottleScope, Map<string, Entry>> = { account: new Map(), address: new Map() };
  const free: Record<ThrottleScope, number> = {
    account: config.accountFreeFailures,
    address: config.addressFreeFailures,
  };

  const live = (scope: ThrottleScope, key: string, now: number) => {
    const e = maps[scope].get(key);
    if (e && now - e.lastFailure > config.forgetAfterMs && e.lockedUntil <= now) {
      maps[scope].delete(key);
      return undefined;
    }
    return e;
  };

  const fail = (scope: ThrottleScope, key: string, now: number) => {
    const map = maps[scope];
    const e = live(scope, key, now) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    map.delete(key); // re-insert: Map order is then least recently failed first
    e.failures += 1;
    e.lastFailure = now;
    const beyond = e.failures - free[scope];
    if (beyond > 0) {
      const delay = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** Math.min(beyond - 1, 40));
      e.lockedUntil = now + delay;
    }
    map.set(key, e);
    if (map.size > MAX_KEYS) map.delete(map.keys().next().value!);
  };

  return {
    locked(username, address, now) {
      for (const [scope, key] of [
        ['account', username],
        ['address', address],
      ] as const) {
        const e = live(scope, key, now);
        if (e && e.lockedUntil > now) return { scope, retryAfterMs: e.lockedUntil - now };
      }
      return undefined;
    },
    failed(username, address, now) {
      fail('account', username, now);
      fail('address', address, now);
    },
    succeeded(username) {
      maps.account.delete(username);
    },
  };
}
