import { describe, expect, it } from 'vitest';
import type { Delivery } from '../src/notify/delivery-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The shared notification delivery log's contract (SharedStore.deliveries,
 * notify/shared-delivery-log.ts): run from sqlite-shared-store.test.ts and
 * postgres-shared-store.test.ts with the same `makeDatabase` as shared-store-suite.ts. Stores `a`
 * and `b` are two hosts each sending some of an incident's notices; each test has its own incidents.
 */
export function runDeliveriesSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const delivery = (
    incidentId: string,
    key: string,
    createdAt: number,
    over: Partial<Delivery> = {},
  ): Delivery => ({
    id: 1,
    key,
    channel: 'ops',
    incidentId,
    village: 'v1',
    level: 'village',
    place: 'v1',
    reason: 'opened',
    state: 'pending',
    attempts: 0,
    nextAt: createdAt,
    lastError: null,
    createdAt,
    deliveredAt: null,
    attemptsAt: [],
    ...over,
  });

  describe(`SharedStore delivery log: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it("an incident's log is every host's deliveries, in the order queued, each as last copied", async () => {
      const opened = delivery('inc-d1-1', 'ops|inc-d1-1|opened', T);
      const town = delivery('inc-d1-1', 'ops|inc-d1-1|escalated|town', T + 180_000, {
        id: 7,
        reason: 'escalated',
        level: 'town',
        place: 't1',
      });
      await a.deliveries.put([opened]);
      await b.deliveries.put([town]);
      await a.deliveries.put([delivery('inc-d1-2', 'ops|inc-d1-2|opened', T + 1)]);
      expect(await b.deliveries.byIncident('inc-d1-1')).toEqual([opened, town]);
      // The holder's delivery went through after a retry: the same row, its last state.
      const retried = {
        ...opened,
        state: 'pending' as const,
        attempts: 1,
        lastError: 'HTTP 502',
        attemptsAt: [T],
      };
      const delivered = {
        ...retried,
        state: 'delivered' as const,
        attempts: 2,
        deliveredAt: T + 50,
        attemptsAt: [T, T + 50],
      };
      await a.deliveries.put([retried, delivered]);
      expect(await b.deliveries.byIncident('inc-d1-1')).toEqual([delivered, town]);
      expect(await a.deliveries.byIncident('inc-d1-9')).toEqual([]);
      await a.deliveries.put([]);
    });
  });
}
