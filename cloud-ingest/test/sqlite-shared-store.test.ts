import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteSharedStore } from '../src/shared-store/sqlite-shared-store.js';
import { openDatabase } from '../src/store/open-database.js';
import { runSharedStoreSuite } from './shared-store-suite.js';

// Each store has its own connection to one cloud.db file, as each worker of one host has.
runSharedStoreSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-shared-store-'));
  const dbs: ReturnType<typeof openDatabase>[] = [];
  return {
    async open() {
      const db = openDatabase(dir);
      dbs.push(db);
      return openSqliteSharedStore(db);
    },
    async dispose() {
      for (const db of dbs) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
