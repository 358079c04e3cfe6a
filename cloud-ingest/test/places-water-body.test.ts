import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningCloud, startCloud } from '../src/cloud.js';
import { parseConfig } from '../src/config.js';
import { parseRegistry } from '../src/registry-file.js';
import { CLOUD_DB_FILE } from '../src/store/open-database.js';

/** A station's water body (river, lake, reservoir) goes from registry.yaml to GET /api/v1/places. */
const REGISTRY = {
  counties: [
    {
      id: 'c1',
      name: '县',
      towns: [
        {
          id: 't1',
          name: '镇',
          villages: [
            {
              id: 'v1',
              name: '村',
              stations: [
                { id: 'pond', name: '村塘', waterBody: 'lake' },
                { id: 's1', name: '村委会站' },
                { id: 'stream', name: '溪', waterBody: 'river' },
              ],
            },
          ],
        },
      ],
    },
  ],
};

describe('station water body in the registry and /api/v1/places', { timeout: 30_000 }, () => {
  let cloud: RunningCloud | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cloud?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function start(preexistingDb?: (path: string) => void) {
    dir = mkdtempSync(join(tmpdir(), 'cloud-water-'));
    writeFileSync(join(dir, 'registry.yaml'), stringify(REGISTRY));
    mkdirSync(join(dir, 'data'));
    preexistingDb?.(join(dir, 'data', CLOUD_DB_FILE));
    const config = parseConfig(
      { dataDir: './data', registry: './registry.yaml', mqtt: { port: 0 }, http: { port: 0 } },
      dir,
    );
    cloud = await startCloud(config, pino({ level: 'silent' }));
    const res = await fetch(`http://127.0.0.1:${cloud.httpPort}/api/v1/places`);
    return ((await res.json()) as { places: { station: string; waterBody: string | null }[] }).places;
  }

  it('lists each station with its water body, null when none is set', async () => {
    const places = await start();
    expect(places.map((p) => [p.station, p.waterBody])).toEqual([
      ['pond', 'lake'],
      ['s1', null],
      ['stream', 'river'],
    ]);
  });

  it('adds the column to a cloud.db made before stations had a water body', async () => {
    const places = await start((path) => {
      const db = new Database(path);
      db.exec('CREATE TABLE stations (id TEXT PRIMARY KEY, village TEXT NOT NULL, name TEXT NOT NULL)');
      db.close();
    });
    expect(places.find((p) => p.station === 'pond')?.waterBody).toBe('lake');
  });

  it('refuses an unknown water body, naming the key', () => {
    const bad = structuredClone(REGISTRY) as {
      counties: { towns: { villages: { stations: unknown[] }[] }[] }[];
    };
    bad.counties[0]!.towns[0]!.villages[0]!.stations = [{ id: 'x', name: 'x', waterBody: 'sea' }];
    expect(() => parseRegistry(bad, 'registry.yaml')).toThrow(/stations\.0\.waterBody/);
  });
});
