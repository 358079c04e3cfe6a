import { describe, expect, it } from 'vitest';
import { type NewApiToken, TOKEN_PREFIX } from '../src/auth/api-token-store.js';
import { sessionIdOf } from '../src/auth/session-store.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The contract of SharedStore.sessions and SharedStore.apiTokens (auth/session-store.ts,
 * auth/api-token-store.ts), run from sqlite-shared-store.test.ts and postgres-shared-store.test.ts
 * with the same `makeDatabase` as shared-store-suite.ts. Several stores on one database stand for
 * several hosts: what one writes, the others see at once.
 */
export function runSessionsSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const HOUR = 3_600_000;
  const draft = (name: string, o: Partial<NewApiToken> = {}): NewApiToken => ({
    name,
    role: 'village',
    place: 'v1',
    access: 'read',
    createdBy: 'admin',
    expiresAt: T + HOUR,
    ...o,
  });

  describe(`SharedStore sessions and API tokens: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('a session made on one host is live on another until login + ttl, then gone', async () => {
      const token = await a.sessions.create('officer-1', T, HOUR);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
      const live = { username: 'officer-1', createdAt: T, expiresAt: T + HOUR };
      expect(await b.sessions.get(token, T)).toEqual(live);
      expect(await b.sessions.get(token, T + HOUR - 1)).toEqual(live);
      expect(await b.sessions.get(token, T + HOUR)).toBeUndefined();
      expect(await a.sessions.get(`${token}x`, T)).toBeUndefined();
      expect(await a.sessions.get('', T)).toBeUndefined();
      // Each login gets its own token, for the same user too.
      expect(await a.sessions.create('officer-1', T, HOUR)).not.toBe(token);
    });

    it('a logout on one host ends the session on every host; other sessions stay', async () => {
      const mine = await a.sessions.create('out-1', T, HOUR);
      const other = await b.sessions.create('out-1', T, HOUR);
      await a.sessions.delete(mine);
      expect(await b.sessions.get(mine, T)).toBeUndefined();
      expect(await a.sessions.get(mine, T)).toBeUndefined();
      expect(await a.sessions.get(other, T)).toMatchObject({ username: 'out-1' });
      await b.sessions.delete(mine); // again, or unknown: nothing happens
      await b.sessions.delete('never-issued');
    });

    it("deleteUser (a password reset) ends all of one user's sessions on every host, no one else's", async () => {
      const s1 = await a.sessions.create('reset-me', T, HOUR);
      const s2 = await b.sessions.create('reset-me', T, HOUR);
      const keep = await a.sessions.create('reset-me-not', T, HOUR);
      expect(await b.sessions.deleteUser('reset-me')).toBe(2);
      for (const s of [s1, s2]) {
        expect(await a.sessions.get(s, T)).toBeUndefined();
        expect(await b.sessions.get(s, T)).toBeUndefined();
      }
      expect(await a.sessions.get(keep, T)).toMatchObject({ username: 'reset-me-not' });
      expect(await a.sessions.deleteUser('reset-me')).toBe(0);
    });

    it('purge deletes exactly the expired sessions, whichever host made them', async () => {
      const P = T + 1000 * HOUR; // past every session above
      expect(await a.sessions.purge(P)).toBeGreaterThan(0); // the earlier tests' sessions
      const old = await a.sessions.create('purge', P, 1_000);
      const young = await b.sessions.create('purge', P, 2_000);
      expect(await b.sessions.purge(P + 999)).toBe(0);
      expect(await b.sessions.purge(P + 1_000)).toBe(1);
      expect(await a.sessions.get(old, P)).toBeUndefined(); // deleted, not merely expired
      expect(await a.sessions.get(young, P + 1_000)).toMatchObject({ username: 'purge' });
      expect(await a.sessions.purge(P + 2_000)).toBe(1);
      expect(await a.sessions.purge(P + 2_000)).toBe(0);
    });

    it('liveIds: of the ids asked, those whose session is live, after a logout, reset or expiry on any host', async () => {
      const L = T + 2000 * HOUR;
      const [s1, s2, s3, s4] = await Promise.all([
        a.sessions.create('live-1', L, HOUR),
        b.sessions.create('live-2', L, HOUR),
        a.sessions.create('live-3', L, HOUR),
        b.sessions.create('live-4', L, 10),
      ]);
      const ids = [s1, s2, s3, s4].map((s) => sessionIdOf(s!));
      expect(await b.sessions.liveIds([...ids, sessionIdOf('never-issued')], L)).toEqual(new Set(ids));
      await a.sessions.delete(s1!);
      await a.sessions.deleteUser('live-2');
      expect(await b.sessions.liveIds(ids, L + 10)).toEqual(new Set([ids[2]])); // s4 expired
      expect(await a.sessions.liveIds([], L)).toEqual(new Set());
      expect(await a.sessions.liveIds([s3!], L)).toEqual(new Set()); // an id, not a token
    });

    it('a token issued on one host verifies on another; its secret is shown once, with the record', async () => {
      const { token, record } = await a.apiTokens.issue(draft('grafana'), T);
      expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
      expect(token).toMatch(/^vt_[A-Za-z0-9_-]{43}$/);
      expect(record).toEqual({ ...draft('grafana'), id: record.id, createdAt: T, revokedAt: null });
      expect(await b.apiTokens.verify(token, T)).toEqual(record);
      expect(await b.apiTokens.verify(token, T + HOUR - 1)).toEqual(record);
      expect(await b.apiTokens.verify(token, T + HOUR)).toBeUndefined(); // expired
      expect(await b.apiTokens.verify(`${token}x`, T)).toBeUndefined();
      expect(await b.apiTokens.verify(record.id, T)).toBeUndefined(); // the id is no secret
      const admin = await b.apiTokens.issue(
        draft('report', { role: 'admin', place: null, access: 'read-write' }),
        T + 1,
      );
      expect(await a.apiTokens.verify(admin.token, T + 1)).toMatchObject({
        role: 'admin',
        place: null,
        access: 'read-write',
      });
    });

    it('a token revoked on one host is refused on every host at once; revoking twice is false', async () => {
      const { token, record } = await a.apiTokens.issue(draft('revoke-me'), T);
      expect(await b.apiTokens.verify(token, T + 1)).toBeDefined();
      expect(await a.apiTokens.revoke(record.id, T + 2)).toBe(true);
      expect(await b.apiTokens.verify(token, T + 3)).toBeUndefined();
      expect(await a.apiTokens.verify(token, T + 3)).toBeUndefined();
      expect(await b.apiTokens.revoke(record.id, T + 4)).toBe(false);
      expect(await b.apiTokens.revoke('no-such-id', T + 4)).toBe(false);
      // The row stays, for the audit: listed with when it was revoked.
      const listed = (await b.apiTokens.list()).find((t) => t.id === record.id);
      expect(listed).toEqual({ ...record, revokedAt: T + 2 });
    });

    it('list shows every host’s tokens, oldest first, the same on every host, never a secret', async () => {
      const first = await a.apiTokens.issue(draft('list-1'), T - 2);
      const second = await b.apiTokens.issue(draft('list-2', { access: 'read-write' }), T - 1);
      const fromA = await a.apiTokens.list();
      expect(await b.apiTokens.list()).toEqual(fromA);
      const names = fromA.map((t) => t.name);
      expect(names.slice(0, 2)).toEqual(['list-1', 'list-2']); // created before every other
      expect(fromA[0]).toEqual(first.record);
      expect(fromA[1]).toEqual(second.record);
      for (const t of fromA) {
        expect(typeof t.createdAt).toBe('number');
        expect(typeof t.expiresAt).toBe('number');
        expect(JSON.stringify(t)).not.toContain(TOKEN_PREFIX);
      }
    });
  });
}
