import { describe, expect, it } from 'vitest';
import type { PublishedRow } from '../src/rules-runtime/hourly-aqi-publisher.js';
import type { AuditEntry, FlagRow, StoredWindow } from '../src/rules-runtime/quality-store.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The shared quality-control and published-AQI stores' contract (SharedStore.quality and .aqi:
 * rules-runtime/quality-store.ts and aqi-store.ts on SQLite, shared-store/postgres-air-quality.ts):
 * run from sqlite-shared-store.test.ts and postgres-shared-store.test.ts. Host A judges and records
 * (a village's holder), host B reads, changes and publishes (an officer's host); each test uses
 * its own devices and stations.
 */
export function runAirQualitySuite(name: string, makeDatabase: SharedDatabase): void {
  const H = 3_600_000;
  const T = Date.UTC(2026, 11, 1, 8); // a clock hour
  const place = (station: string) => ({ county: 'c1', town: 't1', village: `v-${station}`, station });
  const autoAudit = (r: FlagRow): Omit<AuditEntry, 'id'> => ({
    at: T + H,
    actor: 'qc',
    action: 'auto',
    device: r.device,
    metric: r.metric,
    station: r.station,
    from: r.ts,
    to: r.ts + 1,
    flag: r.autoFlag,
    reason: 'range: below 0',
    readings: 1,
  });
  const officer = (e: Partial<AuditEntry>): Omit<AuditEntry, 'id'> => ({
    at: T + H,
    actor: 'o1',
    action: 'invalidate',
    device: null,
    metric: null,
    station: null,
    from: null,
    to: null,
    flag: null,
    reason: 'why',
    readings: 0,
    ...e,
  });
  const row = (station: string, start: number, aqi: number): PublishedRow => ({
    kind: 'hourly',
    station,
    village: `v-${station}`,
    start,
    end: start + H,
    aqi,
    level: 1,
    levelZh: '优',
    primary: [],
    iaqi: { 'PM2.5': aqi },
    concentrations: { 'PM2.5': aqi },
    means: {} as PublishedRow['means'],
    version: 'HJ 633-2012',
    flagged: 0,
    publishedAt: T + 2 * H,
  });

  describe(`SharedStore air quality: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it("one host's flags, windows and audit are another's; a replayed judgement changes nothing", async () => {
      await a.quality.notePlace('qa-1', place('qs1'));
      const bad: FlagRow = {
        device: 'qa-1',
        metric: 'pm25',
        ts: T + 1_000,
        station: 'qs1',
        autoFlag: 'Q',
        flag: 'Q',
        reasons: [{ code: 'range', detail: 'below 0' } as unknown as FlagRow['reasons'][number]],
      };
      const v0 = await b.quality.version();
      await a.quality.putAuto([bad], [autoAudit(bad)]);
      expect(await b.quality.flags({ station: 'qs1', limit: 10 })).toEqual([bad]);
      expect(await b.quality.placeOf('qa-1')).toEqual(place('qs1'));
      expect(await b.quality.devicesAt('qs1')).toEqual(['qa-1']);
      // Automatic flags do not move the version (nothing for another holder to reload).
      expect(await b.quality.version()).toBe(v0);

      // An officer invalidates it through B; A judging the same reading again (a takeover from
      // the saved cursor) keeps the officer's flag and adds no second audit row.
      await b.quality.setFlags([{ device: 'qa-1', metric: 'pm25', ts: bad.ts, station: 'qs1' }], 'I');
      const inv = await b.quality.addAudit(
        officer({ device: 'qa-1', station: 'qs1', from: T, to: T + H, flag: 'I', readings: 1 }),
      );
      expect(await a.quality.version()).toBe(v0 + 1);
      await a.quality.putAuto([bad], [autoAudit(bad)]);
      expect(await b.quality.flags({ device: 'qa-1', limit: 10 })).toEqual([{ ...bad, flag: 'I' }]);
      const audit = await b.quality.audit({ station: 'qs1', limit: 10 });
      expect(audit.map((x) => x.action)).toEqual(['invalidate', 'auto']);
      expect(audit[0]).toEqual(inv);
      expect(await a.quality.overrides()).toContainEqual(inv);
      expect(await b.quality.flags({ station: 'qs1', notNormal: true, from: T + 2_000, limit: 10 })).toEqual(
        [],
      );

      // A window set through B is A's to judge with; removed once.
      const w: StoredWindow = {
        id: 'w-qs1',
        kind: 'maintenance',
        from: T,
        to: T + H,
        station: 'qs1',
        metrics: ['pm25'],
        reason: 'filter change',
        actor: 'o1',
        createdAt: T,
        removedAt: null,
      };
      await b.quality.putWindow(w, officer({ action: 'window_set', station: 'qs1', flag: 'M' }));
      expect(await a.quality.version()).toBe(v0 + 2);
      expect(await a.quality.windows(true)).toContainEqual(w);
      const removed = await a.quality.removeWindow('w-qs1', 'o2', T + 5, (x) =>
        officer({ action: 'window_removed', station: x.station ?? null, reason: `window ${x.id} removed` }),
      );
      expect(removed).toEqual({ ...w, removedAt: T + 5 });
      expect(await b.quality.removeWindow('w-qs1', 'o2', T + 6, () => officer({}))).toBeUndefined();
      expect(await b.quality.windows(true)).not.toContainEqual(expect.objectContaining({ id: 'w-qs1' }));
      expect(await b.quality.windows(false)).toContainEqual({ ...w, removedAt: T + 5 });
      expect(await b.quality.version()).toBe(v0 + 3);
    });

    it("one host's samples are another's to publish, each due hour once; replays and flag changes", async () => {
      const sample = (ts: number, value: number) => ({
        device: 'aq-1',
        metric: 'pm25',
        ts,
        pollutant: 'PM2.5' as const,
        value,
        flag: 'N' as const,
      });
      await a.aqi.addSamples('as1', [
        sample(T + 1_000, 10),
        sample(T + 2_000, 20),
        sample(T + H + 1_000, 30),
      ]);
      expect(await b.aqi.due('hourly', T + 5 * H)).toEqual(
        expect.arrayContaining([
          { station: 'as1', start: T },
          { station: 'as1', start: T + H },
        ]),
      );
      expect((await b.aqi.due('daily', T + 5 * H)).filter((d) => d.station === 'as1')).toHaveLength(1);
      expect(await b.aqi.sampleCounts('as1', T, T + H)).toEqual({ total: 2, flagged: 0 });

      // Both hosts publish hour T at once: one of them does it.
      const seen: number[][] = [];
      const compute = (aqi: number) => (samples: { ts: number; value: number }[]) => {
        seen.push(samples.map((s) => s.value).sort((x, y) => x - y));
        return row('as1', T, aqi);
      };
      const d = { kind: 'hourly' as const, station: 'as1', start: T, from: T + H - 24 * H, end: T + H };
      const results = await Promise.all([a.aqi.publish(d, compute(1)), b.aqi.publish(d, compute(2))]);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect(seen).toEqual([[10, 20]]);
      const published = results.find((r) => r !== undefined)!;
      expect(await a.aqi.list({ kind: 'hourly', station: 'as1', villages: 'all', limit: 10 })).toEqual([
        published,
      ]);
      expect(await b.aqi.due('hourly', T + 5 * H)).not.toContainEqual({ station: 'as1', start: T });
      // Published again: not due any more.
      expect(await b.aqi.publish(d, compute(3))).toBeUndefined();

      // A replay of the same samples (a takeover) makes nothing due again.
      await b.aqi.addSamples('as1', [sample(T + 1_000, 10)]);
      expect(await b.aqi.due('hourly', T + 5 * H)).not.toContainEqual({ station: 'as1', start: T });

      // Hour T+1 published; then an officer's flag change on hour T makes T due, and T+1 too (its
      // 24-h mean rests on T).
      const d1 = { ...d, start: T + H, from: T + 2 * H - 24 * H, end: T + 2 * H };
      expect(await a.aqi.publish(d1, () => row('as1', T + H, 30))).toEqual(row('as1', T + H, 30));
      await b.aqi.setFlags({ from: T, to: T + 1_500, station: 'as1', metrics: ['pm25'] }, 'I');
      expect(await a.aqi.due('hourly', T + 5 * H)).toEqual(
        expect.arrayContaining([
          { station: 'as1', start: T },
          { station: 'as1', start: T + H },
        ]),
      );
      expect(await a.aqi.sampleCounts('as1', T, T + H)).toEqual({ total: 2, flagged: 1 });
      const flags: string[] = [];
      await b.aqi.publish(d, (samples) => {
        for (const s of samples) flags.push(`${s.ts - T}:${s.flag}`);
        return row('as1', T, 20);
      });
      expect(flags.sort()).toEqual(['1000:I', '2000:N']);

      // The newest hourly row of each station, and the caller's villages.
      expect(await b.aqi.latest()).toContainEqual(row('as1', T + H, 30));
      expect(
        await b.aqi.list({ kind: 'hourly', station: 'as1', villages: new Set(['elsewhere']), limit: 10 }),
      ).toEqual([]);
      expect(
        (
          await b.aqi.list({ kind: 'hourly', villages: new Set(['v-as1']), from: T, to: T + H, limit: 10 })
        ).map((r) => r.aqi),
      ).toEqual([20]);
    });
  });
}
