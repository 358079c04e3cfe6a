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

  it('last-seen of a device and an edge already registered waits in memory; claims and reads do not', () => {
    const { db, registry } = open();
    const row = (sql: string) => db.prepare(sql).get() as Record<string, unknown> | undefined;
    // A claim (the device is new) is written at once, inside the caller's transaction.
    db.transaction(() => {
      registry.noteDevicesSeen('edge-1', new Map([['pm-1', 100]]));
      registry.noteEdgeSeen('edge-1', 100);
    })();
    expect(row("SELECT edge, last_seen FROM devices WHERE id = 'pm-1'")).toEqual({
      edge: 'edge-1',
      last_seen: 100,
    });
    // Once the owner is read back (the next batch's ownership check), later sightings wait in memory.
    expect(registry.foreignDevices('edge-1', ['pm-1'])).toEqual(new Map());
    const writes = db.prepare('SELECT total_changes() AS n').pluck();
    const before = writes.get() as number;
    for (let ts = 200; ts <= 1_000; ts += 100) {
      db.transaction(() => {
        registry.noteDevicesSeen('edge-1', new Map([['pm-1', ts]]));
        registry.noteEdgeSeen('edge-1', ts);
      })();
    }
    expect(writes.get() as number, 'rows written by 9 batches of an owned device').toBe(before);
    // A read writes them first: the API says what came last.
    expect(registry.devices().find((d) => d.id === 'pm-1')?.lastSeen).toBe(1_000);
    expect(registry.edges().find((e) => e.id === 'edge-1')?.lastSeen).toBe(1_000);
    expect(row("SELECT last_seen FROM devices WHERE id = 'pm-1'")).toEqual({ last_seen: 1_000 });
    // And the closing flush: nothing in memory is left unwritten.
    registry.noteDevicesSeen('edge-1', new Map([['pm-1', 1_100]]));
    registry.flushLastSeen();
    expect(row("SELECT last_seen FROM devices WHERE id = 'pm-1'")).toEqual({ last_seen: 1_100 });
    db.close();
  });
});
