import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatch } from '@village/protocol';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteOutbox } from '../src/sqlite-outbox.js';

const root = mkdtempSync(join(tmpdir(), 'outbox-epoch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 0, 1);
const open = (path: string) =>
  openSqliteOutbox({
    path,
    edgeId: 'edge-1',
    quotaBytes: 1 << 30,
    groupCommitMs: 0,
    synchronous: 'normal',
    eventReserveBytes: 0,
    now: () => T0,
  });
const policy = { now: T0, maxReadings: 1, maxAgeMs: 0, uplinkConnected: true, historicalAfterMs: 60_000 };

describe('outbox epoch', () => {
  it('is made when the outbox is created, kept across reopening, and carried by its batches', async () => {
    const path = join(root, 'a', 'outbox.db');
    let o = open(path);
    const epoch = o.epoch;
    expect(epoch).toMatch(/^[0-9a-f]{32}$/);
    await o.append([{ device: 'd', metric: 'm', value: 1, unit: '', ts: T0, quality: 'good' }]);
    expect(o.cut(policy)).toBe(1);
    expect(decodeBatch(o.next(1, new Set())[0]!.bytes).epoch).toBe(epoch);
    await o.close();
    o = open(path);
    expect(o.epoch).toBe(epoch);
    await o.close();
    // Wiped: a new outbox, a new epoch.
    rmSync(join(root, 'a'), { recursive: true });
    o = open(path);
    expect(o.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(o.epoch).not.toBe(epoch);
    await o.close();
  });

  it('keeps the legacy (empty) epoch for an outbox that sent seqs before epochs existed', async () => {
    const path = join(root, 'b', 'outbox.db');
    const o = open(path);
    await o.close();
    // What an outbox of the previous release looks like: seqs handed out, no epoch table.
    const db = new Database(path);
    db.exec("DROP TABLE epoch; UPDATE meta SET value = 41 WHERE key = 'last_seq'");
    db.close();
    const upgraded = open(path);
    expect(upgraded.epoch).toBe('');
    await upgraded.append([{ device: 'd', metric: 'm', value: 1, unit: '', ts: T0, quality: 'good' }]);
    upgraded.cut(policy);
    const [b] = upgraded.next(1, new Set());
    expect(b!.seq).toBe(42);
    // Its batches go without an epoch, as before: the cloud keeps them in the stream it has.
    expect(decodeBatch(b!.bytes).epoch).toBeUndefined();
    await upgraded.close();
  });
});
