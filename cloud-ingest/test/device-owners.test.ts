import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';

/**
 * The ownership check's owners are kept in memory once known (registry-store.ts): the first edge
 * to send a device owns it, and only an admin's change (then `refresh`) moves it.
 */
describe('device owners', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'owners-'));
    dirs.push(dir);
    const db = openDatabase(dir);
    return { db, registry: openRegistryStore(db, EMPTY_REGISTRY, ['edge-1', 'edge-2']) };
  };

  it('the first sender owns a device; an admin move takes effect at refresh, for the old and the new owner', () => {
    const { db, registry } = open();
    expect(registry.foreignDevices('edge-1', ['pm-1'])).toEqual(new Map());
    registry.noteDevicesSeen('edge-1', new Map([['pm-1', 1]]));
    expect(registry.foreignDevices('edge-2', ['pm-1'])).toEqual(new Map([['pm-1', 'edge-1']]));
    expect(registry.foreignDevices('edge-1', ['pm-1'])).toEqual(new Map());

    db.prepare("UPDATE devices SET edge = 'edge-2' WHERE id = 'pm-1'").run();
    registry.refresh();
    expect(registry.foreignDevices('edge-1', ['pm-1'])).toEqual(new Map([['pm-1', 'edge-2']]));
    expect(registry.foreignDevices('edge-2', ['pm-1'])).toEqual(new Map());
    db.close();
  });
});
