import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { UNKNOWN_KIND, deviceKinds } from '../src/sink/influx-device-kinds.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';

/**
 * The InfluxDB measurement of a device is its kind in the registry. Two workers share one
 * cloud.db: one learns a kind from a birth, the other's sink must pick it up within `refreshMs`,
 * asking for that device alone.
 */
describe('device kinds for the InfluxDB sink', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a kind another worker learned from a birth is taken up after refreshMs; a known kind is not asked again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kinds-'));
    dirs.push(dir);
    const a = openRegistryStore(openDatabase(dir), EMPTY_REGISTRY, ['edge-1']);
    const db = openDatabase(dir);
    const b = openRegistryStore(db, EMPTY_REGISTRY, ['edge-1']);
    let now = 1_000;
    let reads = 0;
    const kindOf = deviceKinds(
      {
        knownKinds: () => {
          reads++;
          return b.knownKinds();
        },
      },
      2_000,
      () => now,
    );

    expect(kindOf('pm-1')).toBe(UNKNOWN_KIND);
    a.recordBirth(
      'edge-1',
      1,
      now,
      '1.0.0',
      [{ id: 'pm-1', kind: 'air-quality', driver: 'modbus', metrics: [] }],
      now,
    );
    now += 1_999;
    expect(kindOf('pm-1')).toBe(UNKNOWN_KIND);
    now += 1;
    expect(kindOf('pm-1')).toBe('air-quality');
    now += 60_000;
    expect(kindOf('pm-1')).toBe('air-quality');
    expect(kindOf('pm-2')).toBe(UNKNOWN_KIND);
    // Read at first sight and once after refreshMs; never while fresh, never for a known kind.
    expect(reads).toBe(3);
    expect(b.knownKinds()).toEqual(new Map([['pm-1', 'air-quality']]));
    db.close();
  });
});
