import { describe, expect, it } from 'vitest';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { type NewDeadLetter, REDRIVE_CLAIM_TTL_MS } from '../src/store/dead-letter-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The dead letters' contract (SharedStore.deadLetters, store/dead-letter-store.ts): run from
 * sqlite-shared-store.test.ts and postgres-shared-store.test.ts with the same `makeDatabase` as
 * shared-store-suite.ts. Stores `a` and `b` are two hosts (their own Pool / Db connection); the
 * tests use their own edge names, so they share one database.
 */
export function runDeadLettersSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const letter = (edge: string, fill: number, at = T, over: Partial<NewDeadLetter> = {}): NewDeadLetter => ({
    kind: 'point',
    edge,
    seq: null,
    reason: 'field_type_conflict',
    detail: `conflict ${fill}`,
    bytes: new Uint8Array(16).fill(fill),
    at,
    ...over,
  });

  describe(`SharedStore dead letters: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('a letter one host added is listed and read by the other; a resend through either bumps it', async () => {
      const first = await a.deadLetters.add(letter('dl-1', 1));
      expect(first).toMatchObject({ repeat: false, bytesKept: true });
      const again = await b.deadLetters.add(letter('dl-1', 1, T + 5_000));
      expect(again).toEqual({ id: first.id, repeat: true, bytesKept: true });
      await a.deadLetters.add(letter('dl-1', 1, T + 2_000)); // a late copy: lastAt stays the latest
      const listed = await b.deadLetters.list({ edge: 'dl-1', limit: 10 });
      expect(listed).toEqual([
        {
          id: first.id,
          kind: 'point',
          edge: 'dl-1',
          seq: null,
          reason: 'field_type_conflict',
          detail: 'conflict 1',
          receivedAt: T,
          lastAt: T + 5_000,
          count: 3,
          state: 'open',
          redrivenAt: null,
          size: 16,
          bytesKept: true,
        },
      ]);
      const got = await b.deadLetters.get(first.id);
      expect(Buffer.from(got!.bytes).equals(Buffer.alloc(16, 1))).toBe(true);
      expect(await a.deadLetters.get(first.id + 1_000_000)).toBeUndefined();
    });

    it('the same letter added through both hosts at once is one letter', async () => {
      const added = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).deadLetters.add(letter('dl-2', 2, T + i))),
      );
      expect(new Set(added.map((r) => r.id)).size).toBe(1);
      expect(added.filter((r) => !r.repeat)).toHaveLength(1);
      expect((await a.deadLetters.list({ edge: 'dl-2', limit: 10 })).map((l) => l.count)).toEqual([8]);
    });

    it('filters by state, edge and reason; newest first; paging with beforeId and limit', async () => {
      const ids: number[] = [];
      for (const [i, s] of [a, b, a, b].entries()) {
        const reason = i < 2 ? 'not_cbor' : 'bad_type';
        ids.push(
          (await s.deadLetters.add(letter('dl-3', 30 + i, T, { kind: 'batch', seq: i + 1, reason }))).id,
        );
      }
      const all = await b.deadLetters.list({ edge: 'dl-3', limit: 10 });
      expect(all.map((l) => l.id)).toEqual([...ids].reverse());
      expect(all.map((l) => [l.kind, l.seq])).toEqual([
        ['batch', 4],
        ['batch', 3],
        ['batch', 2],
        ['batch', 1],
      ]);
      expect(
        (await a.deadLetters.list({ edge: 'dl-3', reason: 'not_cbor', limit: 10 })).map((l) => l.id),
      ).toEqual([ids[1], ids[0]]);
      const page = await a.deadLetters.list({ edge: 'dl-3', limit: 2 });
      expect(page.map((l) => l.id)).toEqual([ids[3], ids[2]]);
      const next = await b.deadLetters.list({ edge: 'dl-3', beforeId: page.at(-1)!.id, limit: 2 });
      expect(next.map((l) => l.id)).toEqual([ids[1], ids[0]]);
      const claim = await a.deadLetters.claim(ids[0]!, T);
      if (claim.result !== 'claimed') throw new Error(`not claimed: ${claim.result}`);
      await a.deadLetters.settle(ids[0]!, claim.token, true, T + 1);
      expect(
        (await b.deadLetters.list({ edge: 'dl-3', state: 'redriven', limit: 10 })).map((l) => l.id),
      ).toEqual([ids[0]]);
      expect(await b.deadLetters.list({ edge: 'dl-3', state: 'open', limit: 10 })).toHaveLength(3);
    });

    it("a re-drive's claim keeps the other host out until it settles; stored, it is redriven for both", async () => {
      const { id } = await a.deadLetters.add(letter('dl-4', 4));
      const claim = await a.deadLetters.claim(id, T);
      expect(claim).toMatchObject({ result: 'claimed', letter: { id, state: 'open' } });
      if (claim.result !== 'claimed') return;
      expect(Buffer.from(claim.letter.bytes).equals(Buffer.alloc(16, 4))).toBe(true);
      expect(await b.deadLetters.claim(id, T + 1)).toEqual({ result: 'busy' });
      // A refusal during the re-drive bumps the letter, without waiting on the claim.
      expect(await b.deadLetters.add(letter('dl-4', 4, T + 2))).toMatchObject({ id, repeat: true });
      // Not stored: open again, and the other host may claim it.
      await a.deadLetters.settle(id, claim.token, false, T + 3);
      expect(await b.deadLetters.get(id)).toMatchObject({ state: 'open', count: 2, redrivenAt: null });
      const second = await b.deadLetters.claim(id, T + 4);
      if (second.result !== 'claimed') throw new Error(`not claimed: ${second.result}`);
      await b.deadLetters.settle(id, second.token, true, T + 5);
      expect(await a.deadLetters.get(id)).toMatchObject({ state: 'redriven', redrivenAt: T + 5 });
      expect(await a.deadLetters.claim(id, T + 6)).toEqual({ result: 'not_open' });
      // A resend after the re-drive is a new open letter, not a bump of the redriven one.
      expect(await a.deadLetters.add(letter('dl-4', 4, T + 7))).toMatchObject({ repeat: false });
    });

    it('two hosts claiming one letter at once: exactly one gets it', async () => {
      const { id } = await b.deadLetters.add(letter('dl-5', 5));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).deadLetters.claim(id, T)),
      );
      expect(claims.filter((c) => c.result === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.result === 'busy')).toHaveLength(9);
    });

    it('a claim whose host died lapses after REDRIVE_CLAIM_TTL_MS; its late settle does not end the new claim', async () => {
      const { id } = await a.deadLetters.add(letter('dl-6', 6));
      const dead = await a.deadLetters.claim(id, T);
      if (dead.result !== 'claimed') throw new Error(`not claimed: ${dead.result}`);
      expect(await b.deadLetters.claim(id, T + REDRIVE_CLAIM_TTL_MS - 1)).toEqual({ result: 'busy' });
      const taken = await b.deadLetters.claim(id, T + REDRIVE_CLAIM_TTL_MS);
      if (taken.result !== 'claimed') throw new Error(`not taken over: ${taken.result}`);
      await a.deadLetters.settle(id, dead.token, false, T + REDRIVE_CLAIM_TTL_MS + 1);
      expect(await a.deadLetters.claim(id, T + REDRIVE_CLAIM_TTL_MS + 2)).toEqual({ result: 'busy' });
    });
  });
}
