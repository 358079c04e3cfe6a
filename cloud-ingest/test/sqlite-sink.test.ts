import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteSink } from '../src/sink/sqlite-sink.js';
import { openDatabase } from '../src/store/open-database.js';
import { runSinkSuite } from './sink-suite.js';

runSinkSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-sink-'));
  const db = openDatabase(dir);
  const sink = createSqliteSink(db);
  return {
    sink,
    async dispose() {
      await sink.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
