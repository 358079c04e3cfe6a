import { describe, expect, it } from 'vitest';
import type { IncidentView } from '../src/rules-runtime/incident-view.js';
import { type QueuedRuleCommand, RuleCommandGoneError } from '../src/rules-runtime/rule-command-store.js';
import { LeaseLostError } from '../src/shared-store/shared-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The queued incident commands' contract (SharedStore.ruleCommands,
 * rules-runtime/rule-command-store.ts): run from sqlite-shared-store.test.ts and
 * postgres-shared-store.test.ts with the same `makeDatabase` as shared-store-suite.ts. Store `a`
 * is the host an officer asked, `b` the partition's holder; each test has its own partitions.
 */
export function runRuleCommandsSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  let n = 0;
  const command = (partition: string, over: Partial<QueuedRuleCommand> = {}): QueuedRuleCommand => ({
    id: `cmd-${++n}`,
    partition,
    incident: `inc-${partition}-1`,
    action: 'acknowledge',
    actor: 'officer-1',
    note: 'on my way',
    createdAt: T,
    expiresAt: T + 3_000,
    ...over,
  });
  const state = new TextEncoder().encode('{"state":1}');
  const view = { id: 'inc-x-1', state: 'acknowledged' } as IncidentView;

  describe(`SharedStore rule commands: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    /** host-b holds `partition` at the epoch returned. */
    const hold = async (partition: string) => (await b.acquireLease(partition, 'host-b', 60_000, T))!.epoch;

    it("a command one host queued is the holder's to take, in order, only for its partitions and until it expires", async () => {
      const c1 = command('rc1');
      const c2 = command('rc1', {
        action: 'resolve',
        note: undefined,
        closing: { outcome: 'false_alarm', note: 'a cat on the button' },
        createdAt: T + 1,
        expiresAt: T + 1_000,
      });
      const other = command('rc2');
      for (const c of [c2, c1, other]) await a.ruleCommands.send(c);
      expect(await b.ruleCommands.pending(['rc1'], T, 10)).toEqual([c1, c2]);
      expect(await b.ruleCommands.pending(['rc1'], T, 1)).toEqual([c1]);
      expect(await b.ruleCommands.pending(['rc1', 'rc2'], T, 10)).toEqual([c1, other, c2]);
      expect(await b.ruleCommands.pending(['nosuch'], T, 10)).toEqual([]);
      // Past its expiry its sender has stopped waiting: no holder takes it.
      expect(await b.ruleCommands.pending(['rc1'], T + 1_000, 10)).toEqual([c1]);
      expect(await b.ruleCommands.pending(['rc1'], T + 3_000, 10)).toEqual([]);
      expect(await a.ruleCommands.result(c1.id)).toBeUndefined();
    });

    it('accepted in the fenced state write, then answered: the sender reads the answer and can no longer cancel', async () => {
      const epoch = await hold('ra1');
      const c = command('ra1');
      await a.ruleCommands.send(c);
      await b.saveRulesState('ra1', epoch, { cursor: 0, state, commands: [c.id] });
      expect(await b.ruleCommands.pending(['ra1'], T, 10)).toEqual([]);
      expect(await a.ruleCommands.cancel(c.id)).toBe(false);
      expect(await a.ruleCommands.result(c.id)).toBeUndefined();
      await b.ruleCommands.answer(c.id, { incident: view });
      expect(await a.ruleCommands.result(c.id)).toEqual({ incident: view });
      // A refusal is answered without a state write.
      const refused = command('ra1');
      await a.ruleCommands.send(refused);
      const error = { code: 'bad_transition', message: 'incident inc-ra1-1 is resolved' };
      await b.ruleCommands.answer(refused.id, { error });
      expect(await a.ruleCommands.result(refused.id)).toEqual({ error });
      expect(await a.ruleCommands.cancel(refused.id)).toBe(false);
      // Read and forgotten: gone, and so is any row created before the bound given.
      const old = command('ra1', { createdAt: T - 10_000 });
      await a.ruleCommands.send(old);
      await a.ruleCommands.forget(c.id, T - 1);
      expect(await a.ruleCommands.result(c.id)).toBeUndefined();
      expect(await b.ruleCommands.pending(['ra1'], T - 10_000, 10)).toEqual([]);
    });

    it('carried out once: a second write carrying the same command is refused whole, and writes nothing', async () => {
      const epoch = await hold('ro1');
      const c = command('ro1');
      await a.ruleCommands.send(c);
      await b.saveRulesState('ro1', epoch, { cursor: 0, state, commands: [c.id] });
      const again = new TextEncoder().encode('{"state":2}');
      await expect(
        b.saveRulesState('ro1', epoch, { cursor: 0, state: again, commands: [c.id] }),
      ).rejects.toBeInstanceOf(RuleCommandGoneError);
      expect(new TextDecoder().decode((await b.loadRulesState('ro1'))!.state)).toBe('{"state":1}');
      // Nor by the holder of another partition.
      const mine = command('ro2');
      await a.ruleCommands.send(mine);
      await expect(
        b.saveRulesState('ro1', epoch, { cursor: 0, state: again, commands: [mine.id] }),
      ).rejects.toBeInstanceOf(RuleCommandGoneError);
      expect(await b.ruleCommands.pending(['ro2'], T, 10)).toEqual([mine]);
    });

    it('cancelled by its sender while pending: never taken, its write refused, no answer kept', async () => {
      const epoch = await hold('rx1');
      const c = command('rx1');
      await a.ruleCommands.send(c);
      // The holder read it just before the sender gave up.
      expect(await b.ruleCommands.pending(['rx1'], T, 10)).toEqual([c]);
      expect(await a.ruleCommands.cancel(c.id)).toBe(true);
      expect(await a.ruleCommands.cancel(c.id)).toBe(false);
      expect(await b.ruleCommands.pending(['rx1'], T, 10)).toEqual([]);
      await expect(
        b.saveRulesState('rx1', epoch, { cursor: 0, state, commands: [c.id] }),
      ).rejects.toBeInstanceOf(RuleCommandGoneError);
      expect(await b.loadRulesState('rx1')).toBeUndefined();
      await b.ruleCommands.answer(c.id, { incident: view });
      expect(await a.ruleCommands.result(c.id)).toBeUndefined();
    });

    it("a stale holder's write carrying a command is refused and leaves it pending for the new holder", async () => {
      const epoch = await hold('rs1');
      const c = command('rs1');
      await a.ruleCommands.send(c);
      const taken = (await a.acquireLease('rs1', 'host-a', 60_000, T + 60_000))!.epoch;
      await expect(
        b.saveRulesState('rs1', epoch, { cursor: 0, state, commands: [c.id] }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await a.ruleCommands.pending(['rs1'], T, 10)).toEqual([c]);
      await a.saveRulesState('rs1', taken, { cursor: 0, state, commands: [c.id] });
      expect(await a.ruleCommands.cancel(c.id)).toBe(false);
    });
  });
}
