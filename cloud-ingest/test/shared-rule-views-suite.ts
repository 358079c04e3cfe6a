import { describe, expect, it } from 'vitest';
import type { IncidentView } from '../src/rules-runtime/incident-view.js';
import type { AlertView } from '../src/rules-runtime/rules-store.js';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The shared alert and incident views' contract (SharedStore.ruleViews,
 * rules-runtime/rule-view-store.ts): run from sqlite-shared-store.test.ts and
 * postgres-shared-store.test.ts with the same `makeDatabase` as shared-store-suite.ts. Each
 * store is a host of its own; the tests use their own partition names, so they share one database.
 */
export function runRuleViewsSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const alert = (
    village: string,
    key: string,
    raisedAt: number,
    over: Partial<AlertView> = {},
  ): AlertView => ({
    id: 1,
    key,
    rule: 'elder.sos',
    severity: 'critical',
    state: 'active',
    village,
    station: `${village}-s`,
    device: 'wb-1',
    person: 'p1',
    message: 'SOS',
    text: { kind: 'sos', person: 'p1' } as unknown as AlertView['text'],
    count: 1,
    raisedAt,
    lastAt: raisedAt,
    clearedAt: null,
    data: { since: raisedAt },
    ...over,
  });
  const incident = (village: string, n: number, openedAt: number, over: Partial<IncidentView> = {}) =>
    ({
      id: `inc-${village}-${n}`,
      state: 'open',
      severity: 'critical',
      village,
      station: `${village}-s`,
      person: 'p1',
      subject: 'person:p1',
      kind: 'elder.sos',
      situation: `inc-${village}-${n}`,
      priority: 1,
      title: 'SOS 张三',
      text: null,
      openedAt,
      receivedAt: openedAt,
      eventAt: openedAt,
      deadline: openedAt + 180_000,
      level: 'village',
      escalations: [],
      late: false,
      delayMs: 0,
      acknowledgedAt: null,
      acknowledgedBy: null,
      firstResponseMs: null,
      responses: [],
      arrivedAt: null,
      arrivedBy: null,
      arrivalMs: null,
      resolvedAt: null,
      resolvedBy: null,
      outcome: null,
      note: null,
      alerts: [1],
      alertKeys: ['elder.sos|person:p1'],
      people: ['p1'],
      devices: ['wb-1'],
      audit: [{ at: openedAt, actor: 'rules', action: 'opened' }],
      ...over,
    }) as IncidentView;

  describe(`SharedStore rule views: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it("one host's views are read by another, whole and with every filter", async () => {
      const i1 = incident('rv1', 1, T);
      const i2 = incident('rv1', 2, T + 10, { state: 'acknowledged', acknowledgedAt: T + 20 });
      const a1 = alert('rv1', 'elder.sos|person:p1', T);
      const a2 = alert('rv1', 'elder.fall|person:p1', T + 5, { rule: 'elder.fall', severity: 'warning' });
      await a.ruleViews.put('rv1', 1, { alerts: [a1, a2], incidents: [i1, i2] }, T);
      const rv1 = new Set(['rv1']);
      expect(await b.ruleViews.incident('inc-rv1-1')).toEqual(i1);
      expect(await b.ruleViews.incident('inc-rv1-9')).toBeUndefined();
      // Newest first, as cloud.db's lists.
      expect(await b.ruleViews.incidents({ villages: rv1, limit: 10 })).toEqual([i2, i1]);
      expect(await b.ruleViews.incidents({ villages: rv1, limit: 1 })).toEqual([i2]);
      expect(await b.ruleViews.incidents({ villages: rv1, state: 'open', limit: 10 })).toEqual([i1]);
      expect(await b.ruleViews.incidents({ villages: rv1, from: T + 1, limit: 10 })).toEqual([i2]);
      expect(await b.ruleViews.incidents({ villages: rv1, to: T + 10, limit: 10 })).toEqual([i1]);
      expect(await b.ruleViews.alerts({ villages: rv1, limit: 10 })).toEqual([a2, a1]);
      expect(await b.ruleViews.alerts({ villages: rv1, rule: 'elder.sos', limit: 10 })).toEqual([a1]);
      expect(await b.ruleViews.alerts({ villages: rv1, severity: 'warning', limit: 10 })).toEqual([a2]);
      // The same alert changed (count, then cleared): one row, the last view.
      const cleared = { ...a1, count: 3, state: 'cleared' as const, clearedAt: T + 30 };
      await a.ruleViews.put('rv1', 1, { alerts: [{ ...a1, count: 2 }, cleared], incidents: [] }, T + 30);
      expect(await b.ruleViews.alerts({ villages: rv1, rule: 'elder.sos', limit: 10 })).toEqual([cleared]);
      expect(await b.ruleViews.alerts({ villages: rv1, state: 'active', limit: 10 })).toEqual([a2]);
      // The key raised again later is another alert.
      const again = alert('rv1', 'elder.sos|person:p1', T + 40);
      await a.ruleViews.put('rv1', 1, { alerts: [again], incidents: [] }, T + 40);
      expect(await b.ruleViews.alerts({ villages: rv1, rule: 'elder.sos', limit: 10 })).toEqual([
        again,
        cleared,
      ]);
    });

    it('fenced by epoch: a write at an older epoch than the row keeps the newer holder’s view', async () => {
      const open = incident('rf1', 1, T);
      const acked = { ...open, state: 'acknowledged' as const, acknowledgedAt: T + 5, acknowledgedBy: 'o1' };
      const active = alert('rf1', 'elder.sos|person:p1', T);
      await a.ruleViews.put('rf1', 1, { alerts: [active], incidents: [open] }, T);
      // The partition moved: the new holder (epoch 2) writes its view.
      await b.ruleViews.put('rf1', 2, { alerts: [{ ...active, count: 2 }], incidents: [acked] }, T + 5);
      // The stalled ex-holder wakes and writes what it had: ignored, row by row.
      const fresh = incident('rf1', 2, T + 1);
      await a.ruleViews.put('rf1', 1, { alerts: [{ ...active, count: 9 }], incidents: [open, fresh] }, T + 6);
      expect(await b.ruleViews.incident('inc-rf1-1')).toEqual(acked);
      expect((await a.ruleViews.alerts({ villages: new Set(['rf1']), limit: 10 }))[0]?.count).toBe(2);
      // A row the new holder never wrote still takes the old epoch's write (it is the only view of it).
      expect(await a.ruleViews.incident('inc-rf1-2')).toEqual(fresh);
      // The same epoch again (the holder's next commit) and a newer one both write.
      const resolved = { ...acked, state: 'resolved' as const, resolvedAt: T + 9 };
      await b.ruleViews.put('rf1', 2, { alerts: [], incidents: [resolved] }, T + 9);
      expect(await a.ruleViews.incident('inc-rf1-1')).toEqual(resolved);
      const reopened = { ...resolved, note: 'epoch 3' };
      await a.ruleViews.put('rf1', 3, { alerts: [], incidents: [reopened] }, T + 10);
      expect(await b.ruleViews.incident('inc-rf1-1')).toEqual(reopened);
    });

    it("reads are narrowed to the caller's villages: none outside it, none with an empty scope", async () => {
      await a.ruleViews.put(
        'rs1',
        1,
        { alerts: [alert('rs1', 'k1', T)], incidents: [incident('rs1', 1, T)] },
        T,
      );
      await b.ruleViews.put(
        'rs2',
        1,
        { alerts: [alert('rs2', 'k2', T)], incidents: [incident('rs2', 1, T)] },
        T,
      );
      const ids = (l: { village: string }[]) => l.map((x) => x.village).filter((v) => v.startsWith('rs'));
      expect(ids(await a.ruleViews.incidents({ villages: new Set(['rs2']), limit: 10 }))).toEqual(['rs2']);
      expect(ids(await b.ruleViews.alerts({ villages: new Set(['rs1']), limit: 10 }))).toEqual(['rs1']);
      const both = new Set(['rs1', 'rs2']);
      expect(ids(await a.ruleViews.incidents({ villages: both, limit: 10 })).sort()).toEqual(['rs1', 'rs2']);
      expect(ids(await a.ruleViews.incidents({ villages: 'all', limit: 1000 })).sort()).toEqual([
        'rs1',
        'rs2',
      ]);
      // A village filter outside the scope is nothing (the routes answer it empty before asking).
      expect(await a.ruleViews.incidents({ villages: new Set(['rs1']), village: 'rs2', limit: 10 })).toEqual(
        [],
      );
      expect(await a.ruleViews.alerts({ villages: new Set(), limit: 10 })).toEqual([]);
      expect(await a.ruleViews.incidents({ villages: new Set(), limit: 10 })).toEqual([]);
      expect(await a.ruleViews.incidents({ villages: new Set(['nosuch']), limit: 10 })).toEqual([]);
    });
  });
}
