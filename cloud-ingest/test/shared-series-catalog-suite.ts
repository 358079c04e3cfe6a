import type { Quality, Value } from '@village/protocol';
import { describe, expect, it } from 'vitest';
import type { SharedStore } from '../src/shared-store/shared-store.js';
import type { SinkBatch } from '../src/sink/sink.js';
import { type SharedDatabase, twoHosts } from './shared-store-hosts.js';

/**
 * The series catalog's contract (SharedStore.seriesCatalog, sink/influx-series-catalog.ts): run
 * from sqlite-shared-store.test.ts and postgres-shared-store.test.ts with the same `makeDatabase`
 * as shared-store-suite.ts. Each store is a host of its own (its own Pool / Db connection, its own
 * in-process cache); the tests use their own device names, so they share one database.
 */
export function runSeriesCatalogSuite(name: string, makeDatabase: SharedDatabase): void {
  const T = Date.UTC(2026, 11, 1);
  const reading = (device: string, metric: string, value: Value, unit = 'u', quality: Quality = 'good') => ({
    device,
    metric,
    value,
    unit,
    ts: T,
    quality,
  });
  const batch = (station: string | null, ...readings: ReturnType<typeof reading>[]): SinkBatch => ({
    edgeId: 'edge-1',
    historical: false,
    receivedAt: T,
    place: { county: 'c1', town: 't1', village: 'v1', station },
    readings,
    events: [],
  });
  const env = () => 'env';

  describe(`SharedStore series catalog: ${name}`, () => {
    const [a, b] = twoHosts(makeDatabase);

    it('note, find and list: unit, value type, station and measurements of each series', async () => {
      await a.seriesCatalog.note(
        [
          batch(
            's1',
            reading('nl-1', 'temp', 21.5, '°C'),
            reading('nl-1', 'door', true, ''),
            reading('nl-1', 'temp', 22, '°C'),
          ),
          batch('s2', reading('nl-2', 'state', 'ok', '')),
        ],
        (device) => (device === 'nl-1' ? 'env' : 'gate'),
      );
      expect(await a.seriesCatalog.find('nl-1', 'temp')).toEqual({
        device: 'nl-1',
        metric: 'temp',
        unit: '°C',
        valueType: 'number',
        station: 's1',
        measurements: ['env'],
      });
      expect(await a.seriesCatalog.find('nl-1', 'door')).toMatchObject({ valueType: 'boolean', unit: '' });
      expect(await a.seriesCatalog.find('nl-2', 'state')).toMatchObject({
        valueType: 'string',
        station: 's2',
        measurements: ['gate'],
      });
      expect(await a.seriesCatalog.find('nl-1', 'nosuch')).toBeUndefined();
      expect(await a.seriesCatalog.find('nosuch', 'temp')).toBeUndefined();
      const ids = (list: { device: string; metric: string }[]) => list.map((s) => `${s.device}/${s.metric}`);
      expect(ids(await a.seriesCatalog.list({ device: 'nl-1' }))).toEqual(['nl-1/door', 'nl-1/temp']);
      expect(ids(await a.seriesCatalog.list({ station: 's2' }))).toEqual(['nl-2/state']);
      expect(ids(await a.seriesCatalog.list({ device: 'nl-1', station: 's2' }))).toEqual([]);
      // Unfiltered: every series, by device then metric in byte order (uppercase before lowercase).
      await a.seriesCatalog.note([batch('s1', reading('nl-1', 'Zeta', 1), reading('nl-1', 'alpha', 2))], env);
      const all = ids(await a.seriesCatalog.list({})).filter((id) => id.startsWith('nl-'));
      expect(all).toEqual(['nl-1/Zeta', 'nl-1/alpha', 'nl-1/door', 'nl-1/temp', 'nl-2/state']);
    });

    it('a second store on the same database sees the series the first wrote, and its changes', async () => {
      expect(await b.seriesCatalog.find('sh-1', 'pm25')).toBeUndefined();
      await a.seriesCatalog.note([batch('s1', reading('sh-1', 'pm25', 35, 'µg/m³'))], env);
      expect(await b.seriesCatalog.find('sh-1', 'pm25')).toEqual({
        device: 'sh-1',
        metric: 'pm25',
        unit: 'µg/m³',
        valueType: 'number',
        station: 's1',
        measurements: ['env'],
      });
      expect((await b.seriesCatalog.list({ device: 'sh-1' })).map((s) => s.metric)).toEqual(['pm25']);
      // The other store writes the series with another unit and station: the newest write wins for both.
      await b.seriesCatalog.note([batch('s9', reading('sh-1', 'pm25', 36, 'mg/m³'))], env);
      expect(await a.seriesCatalog.find('sh-1', 'pm25')).toMatchObject({ unit: 'mg/m³', station: 's9' });
      expect((await a.seriesCatalog.list({ station: 's9' })).map((s) => s.device)).toEqual(['sh-1']);
    });

    it("a bad reading's string does not type a series, on this store or another", async () => {
      const bad = (device: string) => reading(device, 'level', 'ModbusTimeout', 'm', 'bad');
      // First heard of through a bad reading: listed (so its error shows), typed as a number until a good one.
      await a.seriesCatalog.note([batch('s1', bad('bd-1'))], env);
      expect(await b.seriesCatalog.find('bd-1', 'level')).toMatchObject({ valueType: 'number', unit: 'm' });
      await b.seriesCatalog.note([batch('s1', reading('bd-1', 'level', true, 'm'))], env);
      expect(await a.seriesCatalog.find('bd-1', 'level')).toMatchObject({ valueType: 'boolean' });
      // A bad reading after good ones, through either store, changes nothing.
      await a.seriesCatalog.note([batch('s1', bad('bd-1'))], env);
      await b.seriesCatalog.note([batch('s1', bad('bd-1'))], env);
      expect(await a.seriesCatalog.find('bd-1', 'level')).toMatchObject({ valueType: 'boolean' });
      // A string series stays a string series: its bad readings' strings are no type at all.
      await b.seriesCatalog.note([batch('s1', reading('bd-2', 'level', 'high', 'm'))], env);
      await a.seriesCatalog.note([batch('s1', bad('bd-2'))], env);
      expect(await b.seriesCatalog.find('bd-2', 'level')).toMatchObject({ valueType: 'string' });
      // In one group, before or after the good reading: the good one types it.
      await a.seriesCatalog.note(
        [
          batch('s1', bad('bd-3')),
          batch('s1', reading('bd-3', 'level', 'dry', 'm')),
          batch('s1', bad('bd-3')),
        ],
        env,
      );
      expect(await b.seriesCatalog.find('bd-3', 'level')).toMatchObject({ valueType: 'string' });
    });

    it('one group naming a series several times: the last good reading sets unit and type', async () => {
      await b.seriesCatalog.note(
        [
          batch('s1', reading('gr-1', 'temp', 20, '°C'), reading('gr-1', 'temp', 'n/a', '°C')),
          batch('s1', reading('gr-1', 'temp', 68, '°F'), reading('gr-2', 'temp', 1, '°C')),
        ],
        env,
      );
      expect(await a.seriesCatalog.find('gr-1', 'temp')).toMatchObject({ unit: '°F', valueType: 'number' });
      expect(await a.seriesCatalog.find('gr-2', 'temp')).toMatchObject({ unit: '°C' });
    });

    it('the measurement list grows when a device is written under another measurement, on any store', async () => {
      await a.seriesCatalog.note([batch('s1', reading('ms-1', 'flow', 1))], () => 'unknown');
      expect((await b.seriesCatalog.find('ms-1', 'flow'))?.measurements).toEqual(['unknown']);
      // The device's kind became known (its birth reached the host): the next writes go to `water`.
      await b.seriesCatalog.note([batch('s1', reading('ms-1', 'flow', 2))], () => 'water');
      await a.seriesCatalog.note([batch('s1', reading('ms-1', 'flow', 3))], () => 'water');
      await a.seriesCatalog.note([batch('s1', reading('ms-1', 'flow', 4))], () => 'unknown');
      expect((await a.seriesCatalog.find('ms-1', 'flow'))?.measurements).toEqual(['unknown', 'water']);
      expect((await b.seriesCatalog.list({ device: 'ms-1' }))[0]?.measurements).toEqual(['unknown', 'water']);
    });

    it('groups from several stores at once, with series in common, all land', async () => {
      const devices = Array.from({ length: 20 }, (_, i) => `cc-${String(i).padStart(2, '0')}`);
      const group = (order: string[]) =>
        order.map((d) => batch('s1', reading(d, 'v', 1), reading(d, 'w', 'x')));
      // Opposite orders through two stores: the writes must not deadlock or lose a row.
      await Promise.all([
        a.seriesCatalog.note(group(devices), env),
        b.seriesCatalog.note(group([...devices].reverse()), () => 'other'),
      ]);
      const listed = (await a.seriesCatalog.list({})).filter((s) => s.device.startsWith('cc-'));
      expect(listed.map((s) => `${s.device}/${s.metric}`)).toEqual(
        devices.flatMap((d) => [`${d}/v`, `${d}/w`]),
      );
      for (const s of listed) expect(s.measurements).toEqual(['env', 'other']);
    });
  });
}
