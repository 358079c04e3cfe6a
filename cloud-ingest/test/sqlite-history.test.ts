import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_REGISTRY } from '../src/registry-file.js';
import { createSqliteSink } from '../src/sink/sqlite-sink.js';
import { openDatabase } from '../src/store/open-database.js';
import { openRegistryStore } from '../src/store/registry-store.js';
import { runHistorySuite } from './history-suite.js';

runHistorySuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-history-'));
  const db = openDatabase(dir);
  const sink = createSqliteSink(db);
  return {
    sink,
    registry: openRegistryStore(db, EMPTY_REGISTRY, []),
    async dispose() {
      await sink.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
