import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deadline, LeaseLostError, type SharedStore } from '../src/shared-store/shared-store.js';
import type { SharedDatabase } from './shared-store-hosts.js';

/**
 * The contract every SharedStore implementation must pass (like sink-suite.ts): run from
 * sqlite-shared-store.test.ts and postgres-shared-store.test.ts. `makeDatabase` gives a fresh,
 * empty database and `open()` a new store on it (its own Pool / its own Db connection), as each
 * ingest host has its own; the tests use their own edge and partition names, so they share one
 * database.
 */
export function runSharedStoreSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const bytes = (...b: number[]) => new Uint8Array(b);
  const item = (edge: string, seq: number, partition = 'p', epoch = 'e1') => ({
    edge,
    epoch,
    seq,
    receivedAt: T + seq,
    partition,
    batch: bytes(seq & 0xff, (seq >> 8) & 0xff, 0xca),
  });
  /** A deterministic shuffle (a small LCG), so a failure reproduces. */
  const shuffled = <V>(values: V[], seed: number): V[] => {
    const out = [...values];
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  /** One turn of the event loop: lets the other stores' calls in, without a timed sleep. */
  const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

  describe(`SharedStore contract: ${name}`, () => {
    let db: Awaited<ReturnType<typeof makeDatabase>>;
    /** Four stores on one database, opened at once (as hosts starting together create the schema). */
    let stores: SharedStore[];
    let s: SharedStore;
    beforeAll(async () => {
      db = await makeDatabase();
      stores = await Promise.all([db.open(), db.open(), db.open(), db.open()]);
      s = stores[0]!;
    }, 60_000);
    afterAll(async () => {
      for (const store of stores ?? []) await store.close();
      await db?.dispose();
    });

    it('names its kind', () => {
      expect(['sqlite', 'postgres']).toContain(s.kind);
      expect(name).toContain(s.kind);
    });

    it('recordCommits: new once, H over contiguous seqs, the rest above H, in and across groups', async () => {
      expect(await s.snapshot('rc', 'e1')).toEqual({ highWater: 0, above: [] });
      expect(await s.recordCommits([])).toEqual([]);
      expect(await s.recordCommits([1, 3, 5, 3].map((q) => item('rc', q)))).toEqual([
        true,
        true,
        true,
        false,
      ]);
      expect(await s.snapshot('rc', 'e1')).toEqual({ highWater: 1, above: [3, 5] });
      expect(await stores[1]!.recordCommits([item('rc', 2), item('rc', 1)])).toEqual([true, false]);
      expect(await s.snapshot('rc', 'e1')).toEqual({ highWater: 3, above: [5] });
      expect(await s.recordCommits([item('rc', 4), item('rc', 6), item('rc', 5)])).toEqual([
        true,
        true,
        false,
      ]);
      expect(await stores[2]!.snapshot('rc', 'e1')).toEqual({ highWater: 6, above: [] });
      for (const q of [1, 6]) expect(await stores[3]!.isCommitted('rc', 'e1', q)).toBe(true);
      expect(await s.isCommitted('rc', 'e1', 7)).toBe(false);
      expect(await s.recordCommits([item('rc', 9)])).toEqual([true]);
      expect(await s.isCommitted('rc', 'e1', 9)).toBe(true);
      expect(await s.isCommitted('rc', 'e1', 8)).toBe(false);
      // Another edge, and another epoch of this edge, are streams of their own.
      expect(await s.isCommitted('rc-other', 'e1', 1)).toBe(false);
      expect(await s.isCommitted('rc', 'e2', 1)).toBe(false);
      // The group question answers each key as isCommitted does, in order.
      const keys = [9, 8, 1, 7, 6].map((seq) => ({ edge: 'rc', epoch: 'e1', seq }));
      keys.push({ edge: 'rc-other', epoch: 'e1', seq: 1 }, { edge: 'rc', epoch: 'e2', seq: 1 });
      expect(await stores[2]!.committedAmong(keys)).toEqual([true, false, true, false, true, false, false]);
      expect(await s.committedAmong([])).toEqual([]);
    });

    it('epochs: a new epoch of a known edge reports the old one and its H; known epochs report nothing', async () => {
      expect(await s.epochChange('ep', 'A')).toBeUndefined(); // an edge never seen
      await s.recordCommits([1, 2, 3].map((q) => item('ep', q, 'p', 'A')));
      expect(await s.epochChange('ep', 'A')).toBeUndefined();
      expect(await stores[1]!.epochChange('ep', 'B')).toEqual({ oldEpoch: 'A', oldHighWater: 3 });
      expect(await s.recordCommits([item('ep', 1, 'p', 'B')])).toEqual([true]); // seq 1 again: new in B
      expect(await s.snapshot('ep', 'B')).toEqual({ highWater: 1, above: [] });
      expect(await s.snapshot('ep', 'A')).toEqual({ highWater: 3, above: [] });
      expect(await s.epochChange('ep', 'B')).toBeUndefined();
      expect(await s.epochChange('ep', 'A')).toBeUndefined(); // a late resend of the older epoch
      expect(await stores[2]!.epochChange('ep', 'C')).toEqual({ oldEpoch: 'B', oldHighWater: 1 });
    });

    it('journal: a row per newly committed batch, at 1, 2, 3 ... of its partition, bytes as given', async () => {
      const r = await s.recordCommits([
        item('jr-a', 1, 'jr-x'),
        item('jr-a', 1, 'jr-x'),
        item('jr-b', 1, 'jr-y'),
        item('jr-a', 2, 'jr-x'),
      ]);
      expect(r).toEqual([true, false, true, true]);
      await stores[1]!.recordCommits([item('jr-a', 2, 'jr-x'), item('jr-a', 300, 'jr-x')]);
      const x = await stores[2]!.readJournal('jr-x', 0, 100);
      expect(x).toEqual([
        { partition: 'jr-x', position: 1, edge: 'jr-a', seq: 1, receivedAt: T + 1, batch: bytes(1, 0, 0xca) },
        { partition: 'jr-x', position: 2, edge: 'jr-a', seq: 2, receivedAt: T + 2, batch: bytes(2, 0, 0xca) },
        {
          partition: 'jr-x',
          position: 3,
          edge: 'jr-a',
          seq: 300,
          receivedAt: T + 300,
          batch: bytes(44, 1, 0xca),
        },
      ]);
      expect((await s.readJournal('jr-y', 0, 100)).map((j) => [j.position, j.edge, j.seq])).toEqual([
        [1, 'jr-b', 1],
      ]);
      expect((await s.readJournal('jr-x', 1, 1)).map((j) => j.position)).toEqual([2]);
      expect(await s.readJournal('jr-x', 3, 10)).toEqual([]);
      expect(await s.readJournal('jr-none', 0, 10)).toEqual([]);
      const parts = await s.partitions();
      expect(parts).toEqual(expect.arrayContaining(['jr-x', 'jr-y']));
      expect(parts).not.toContain('jr-none');
    });

    it('leases: taken when free (epoch 1), refused while live, renewed by its holder, taken over when expired or released', async () => {
      const [a, b] = [stores[0]!, stores[1]!];
      expect(await a.acquireLease('ls', 'host-a', 1000, T)).toEqual({
        partition: 'ls',
        holder: 'host-a',
        epoch: 1,
        expiresAt: T + 1000,
      });
      expect(await b.acquireLease('ls', 'host-b', 1000, T + 500)).toBeUndefined();
      expect(await a.acquireLease('ls', 'host-a', 1000, T + 900)).toEqual({
        partition: 'ls',
        holder: 'host-a',
        epoch: 1,
        expiresAt: T + 1900,
      });
      expect(await b.acquireLease('ls', 'host-b', 1000, T + 1899)).toBeUndefined();
      expect(await b.acquireLease('ls', 'host-b', 1000, T + 1900)).toMatchObject({
        holder: 'host-b',
        epoch: 2,
      });
      await a.releaseLease('ls', 'host-a', 1); // no longer a's: changes nothing
      expect(await a.acquireLease('ls', 'host-a', 1000, T + 2000)).toBeUndefined();
      await b.releaseLease('ls', 'host-b', 2);
      expect(await a.acquireLease('ls', 'host-a', 1000, T + 2001)).toMatchObject({
        holder: 'host-a',
        epoch: 3,
      });
      expect(await s.partitions()).toContain('ls');
    });

    it('rules state: saved with its cursor under the lease epoch, journal pruned up to the cursor', async () => {
      expect(await s.loadRulesState('rs')).toBeUndefined();
      await s.recordCommits([1, 2, 3].map((q) => item('rs-e', q, 'rs')));
      await expect(s.saveRulesState('rs', 1, { cursor: 1, state: bytes(1) })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      const lease = (await s.acquireLease('rs', 'host-a', 10_000, T))!;
      await stores[1]!.saveRulesState('rs', lease.epoch, { cursor: 2, state: bytes(7, 8, 9) });
      expect(await stores[2]!.loadRulesState('rs')).toEqual({ cursor: 2, state: bytes(7, 8, 9) });
      expect((await s.readJournal('rs', 0, 10)).map((j) => j.position)).toEqual([3]);
      await s.saveRulesState('rs', lease.epoch, { cursor: 3, state: bytes() });
      expect(await s.loadRulesState('rs')).toEqual({ cursor: 3, state: bytes() });
      expect(await s.readJournal('rs', 0, 10)).toEqual([]);
      // Pruned rows do not come back as positions: the next batch is position 4.
      await s.recordCommits([item('rs-e', 4, 'rs')]);
      expect((await s.readJournal('rs', 3, 10)).map((j) => j.position)).toEqual([4]);
    });

    it('(c) a lease taken over after expiry: the old holder saveRulesState throws LeaseLostError and writes nothing', async () => {
      const [a, b] = [stores[0]!, stores[1]!];
      await a.recordCommits([1, 2, 3, 4].map((q) => item('to-e', q, 'to')));
      const old = (await a.acquireLease('to', 'host-a', 1000, T))!;
      await a.saveRulesState('to', old.epoch, { cursor: 1, state: bytes(1) });
      const taken = (await b.acquireLease('to', 'host-b', 1000, T + 1000))!;
      expect(taken.epoch).toBe(old.epoch + 1);
      const err = await a
        .saveRulesState('to', old.epoch, { cursor: 4, state: bytes(0xa) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LeaseLostError);
      expect((err as LeaseLostError).code).toBe('lease_lost');
      expect(await b.loadRulesState('to')).toEqual({ cursor: 1, state: bytes(1) });
      expect((await b.readJournal('to', 0, 10)).map((j) => j.position)).toEqual([2, 3, 4]);
      await b.saveRulesState('to', taken.epoch, { cursor: 2, state: bytes(0xb) });
      expect(await a.loadRulesState('to')).toEqual({ cursor: 2, state: bytes(0xb) });
    });

    it('deadlines: fire when due with their payload, rescheduling moves one, cancel removes it, a rejected fire stays', async () => {
      const d = (key: string, dueAt: number, payload: unknown = { key }): Deadline => ({
        key,
        partition: 'dl',
        dueAt,
        payload,
      });
      await s.scheduleDeadline(d('dl-1', T + 100, { incident: 7, level: ['a', 'b'] }));
      await s.scheduleDeadline(d('dl-2', T + 200));
      await s.scheduleDeadline(d('dl-3', T + 300));
      await s.scheduleDeadline(d('dl-2', T + 1000)); // moved later
      await s.cancelDeadline('dl-3');
      const fired: Deadline[] = [];
      expect(await s.fireDue(T + 99, 10, async (x) => void fired.push(x))).toBe(0);
      expect(await stores[1]!.fireDue(T + 500, 10, async (x) => void fired.push(x))).toBe(1);
      expect(fired).toEqual([d('dl-1', T + 100, { incident: 7, level: ['a', 'b'] })]);
      // Fired means gone.
      expect(await s.fireDue(T + 500, 10, async (x) => void fired.push(x))).toBe(0);
      const reject = async () => {
        throw new Error('notifier down');
      };
      expect(await s.fireDue(T + 1000, 10, reject)).toBe(0);
      expect(await s.fireDue(T + 1000, 10, async (x) => void fired.push(x))).toBe(1);
      expect(fired.map((x) => x.key)).toEqual(['dl-1', 'dl-2']);
      // limit: at most that many per call, earliest first.
      for (let i = 0; i < 5; i++) await s.scheduleDeadline(d(`dl-lim-${i}`, T + 2000 + i));
      const keys: string[] = [];
      expect(await s.fireDue(T + 3000, 2, async (x) => void keys.push(x.key))).toBe(2);
      expect(keys).toEqual(['dl-lim-0', 'dl-lim-1']);
      expect(await s.fireDue(T + 3000, 10, async (x) => void keys.push(x.key))).toBe(3);
    });

    it('commands: sent through one store, completed through another, once; pending oldest first until expiry', async () => {
      const cmd = (id: string, expiresAt = T + 60_000) => ({
        id,
        device: 'siren-1',
        action: 'on',
        params: { seconds: 30, note: '喇叭' },
        expiresAt,
      });
      const sent = await stores[0]!.commands.insert('cmd-edge', cmd('c-1'), 'officer-a', T);
      expect(sent).toMatchObject({
        id: 'c-1',
        edge: 'cmd-edge',
        state: 'sent',
        actor: 'officer-a',
        createdAt: T,
      });
      await stores[0]!.commands.insert('cmd-edge', cmd('c-2'), 'officer-a', T + 1);
      await stores[0]!.commands.insert('cmd-edge', cmd('c-old', T + 5), 'officer-a', T + 2);
      await stores[0]!.commands.insert('cmd-other', cmd('c-3'), 'officer-b', T + 3);
      // Another host, the one the edge's answer reached: only that edge's command, and only once.
      const other = stores[1]!.commands;
      expect(await other.complete('cmd-other', { ts: T, id: 'c-1', ok: true }, T + 10)).toBe(false);
      expect(
        await other.complete('cmd-edge', { ts: T, id: 'c-1', ok: true, data: { level: 3 } }, T + 10),
      ).toBe(true);
      expect(await other.complete('cmd-edge', { ts: T, id: 'c-1', ok: false, error: 'late' }, T + 11)).toBe(
        false,
      );
      expect(await stores[2]!.commands.get('c-1')).toMatchObject({
        state: 'ok',
        data: { level: 3 },
        completedAt: T + 10,
        params: { seconds: 30, note: '喇叭' },
      });
      expect(
        await other.complete(
          'cmd-edge',
          { ts: T, id: 'c-2', ok: false, error: 'relay stuck', code: 'command_rejected' },
          T + 12,
        ),
      ).toBe(true);
      expect(await stores[3]!.commands.get('c-2')).toMatchObject({
        state: 'error',
        errorCode: 'command_rejected',
      });
      // Waiting and not expired, oldest first; a failed one stops waiting.
      await stores[0]!.commands.insert('cmd-edge', cmd('c-4'), 'officer-a', T + 20);
      await stores[0]!.commands.insert('cmd-edge', cmd('c-5'), 'officer-a', T + 21);
      expect((await other.pending('cmd-edge', T + 30)).map((c) => c.id)).toEqual(['c-4', 'c-5']);
      expect((await other.pending('cmd-edge', T + 3)).map((c) => c.id)).toEqual(['c-old', 'c-4', 'c-5']);
      expect(await stores[2]!.commands.fail('c-4', 'too_large', T + 31)).toBe(true);
      expect(await stores[2]!.commands.fail('c-4', 'again', T + 32)).toBe(false);
      expect((await other.pending('cmd-edge', T + 30)).map((c) => c.id)).toEqual(['c-5']);
      expect(await other.get('no-such')).toBeUndefined();
    });

    it('(a) many concurrent recordCommits of overlapping seqs: each seq new exactly once, H right', async () => {
      const N = 120;
      const edges = ['ca-1', 'ca-2', 'ca-3'];
      const newly = new Map<string, number>();
      await Promise.all(
        stores.map(async (store, w) => {
          // Every store commits every seq of every edge, in its own order and groups of 1 to 16.
          const all = shuffled(
            edges.flatMap((e) => Array.from({ length: N }, (_, i) => item(e, i + 1, 'ca'))),
            w + 1,
          );
          for (let i = 0, g = 1; i < all.length; i += g, g = (g * 7 + w) % 16 || 1) {
            const group = all.slice(i, i + g);
            const r = await store.recordCommits(group);
            group.forEach((it, k) => {
              if (r[k]) newly.set(`${it.edge}/${it.seq}`, (newly.get(`${it.edge}/${it.seq}`) ?? 0) + 1);
            });
          }
        }),
      );
      expect(newly.size).toBe(edges.length * N);
      expect([...newly.values()].every((n) => n === 1)).toBe(true);
      for (const e of edges) expect(await s.snapshot(e, 'e1')).toEqual({ highWater: N, above: [] });
      const rows = await s.readJournal('ca', 0, 10_000);
      expect(rows.map((r) => r.position)).toEqual(Array.from({ length: edges.length * N }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => `${r.edge}/${r.seq}`)).size).toBe(edges.length * N);
    }, 120_000);

    it('(b) a reader tailing readJournal while 4 writers commit sees no gap, never goes back, and gets every row', async () => {
      const perWriter = 150;
      let writing = true;
      const seen: number[] = [];
      const reader = (async () => {
        let after = 0;
        for (;;) {
          const done = !writing; // read once more after the writers finished
          const rows = await s.readJournal('tail', after, 37);
          for (const r of rows) {
            expect(r.position).toBe(after + 1);
            after = r.position;
            seen.push(r.position);
          }
          if (done && rows.length === 0) return;
          if (rows.length === 0) await yieldTurn();
        }
      })();
      await Promise.all(
        stores.map(async (store, w) => {
          for (let q = 1; q <= perWriter; q += 3) {
            // Groups of 3, the last overlapping the next group's first: resends across hosts.
            await store.recordCommits([q, q + 1, q + 2, q + 3].map((n) => item(`tail-${w % 2}`, n, 'tail')));
          }
        }),
      );
      writing = false;
      await reader;
      const maxSeq = 1 + 3 * Math.floor((perWriter - 1) / 3) + 3; // the last group's last seq
      const total = 2 * maxSeq;
      expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      const rows = await s.readJournal('tail', 0, 10_000);
      expect(new Set(rows.map((r) => `${r.edge}/${r.seq}`)).size).toBe(total);
    }, 120_000);

    it('(d) two hosts firing at once never fire one deadline twice; a rejected fire is retried', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `cd-${String(i).padStart(2, '0')}`);
      for (const k of keys) await s.scheduleDeadline({ key: k, partition: 'cd', dueAt: T, payload: k });
      const calls = new Map<string, number>();
      const succeeded: string[] = [];
      let rejectedOnce = false;
      const fire = async (x: Deadline) => {
        calls.set(x.key, (calls.get(x.key) ?? 0) + 1);
        await yieldTurn(); // the other host's fireDue runs meanwhile
        if (x.key === 'cd-07' && !rejectedOnce) {
          rejectedOnce = true;
          throw new Error('first attempt fails');
        }
        succeeded.push(x.key);
      };
      let total = 0;
      for (let round = 0; round < 20 && succeeded.length < keys.length; round++) {
        const counts = await Promise.all([stores[1]!.fireDue(T, 5, fire), stores[2]!.fireDue(T, 5, fire)]);
        total += counts[0]! + counts[1]!;
      }
      expect(rejectedOnce).toBe(true);
      expect([...succeeded].sort()).toEqual(keys);
      expect(total).toBe(keys.length);
      for (const k of keys) expect(calls.get(k)).toBe(k === 'cd-07' ? 2 : 1);
      expect(await s.fireDue(T, 100, fire)).toBe(0);
    }, 60_000);
  });
}
