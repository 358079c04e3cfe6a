import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { openDeadLetterStore } from '../src/store/dead-letter-store.js';
import { type Db, openDatabase } from '../src/store/open-database.js';

describe('dead-letter store (real SQLite)', () => {
  let dir: string;
  let db: Db;
  afterEach(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (cap: number) => {
    dir = mkdtempSync(join(tmpdir(), 'dead-letters-'));
    db = openDatabase(dir);
    return openDeadLetterStore(db, new Registry(), cap);
  };
  const letter = (edge: string, fill: number, size: number) => ({
    kind: 'batch' as const,
    edge,
    seq: null,
    reason: 'not_cbor',
    detail: 'x',
    bytes: new Uint8Array(size).fill(fill),
    at: 1,
  });

  it('keeps at most the cap of bytes per edge; past it the letter is recorded without its bytes', async () => {
    const store = open(1_000);
    expect(await store.add(letter('edge-1', 1, 600))).toMatchObject({ repeat: false, bytesKept: true });
    expect(await store.add(letter('edge-1', 1, 600))).toMatchObject({ repeat: true });
    const over = await store.add(letter('edge-1', 2, 600));
    expect(over).toMatchObject({ repeat: false, bytesKept: false });
    expect(await store.get(over.id)).toMatchObject({ size: 600, bytesKept: false, bytes: new Uint8Array(0) });
    // Another edge has its own budget.
    expect(await store.add(letter('edge-2', 2, 600))).toMatchObject({ bytesKept: true });
    expect((await store.list({ limit: 10 })).map((l) => [l.edge, l.count, l.bytesKept])).toEqual([
      ['edge-2', 1, true],
      ['edge-1', 1, false],
      ['edge-1', 2, true],
    ]);
  });
});
