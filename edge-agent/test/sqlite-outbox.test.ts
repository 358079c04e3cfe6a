import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteOutbox } from '../src/sqlite-outbox.js';
import { outboxSuite } from './outbox-suite.js';

const root = mkdtempSync(join(tmpdir(), 'outbox-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

outboxSuite('sqlite', {
  open: (opts) =>
    openSqliteOutbox({
      path: join(root, `t${n}`, 'outbox.db'),
      edgeId: 'edge-1',
      quotaBytes: opts.quotaBytes ?? 1 << 30,
      groupCommitMs: 2,
      synchronous: 'normal',
      now: opts.now,
    }),
  reset: () => {
    n++;
  },
});
