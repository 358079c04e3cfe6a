import { type Postgres, startPostgres } from '@village/test-kit';
import { openPostgresSharedStore } from '../src/shared-store/postgres-shared-store.js';
import { runSharedStoreSuite } from './shared-store-suite.js';

// A real PostgreSQL 15; each store has its own Pool, as each ingest host has.
runSharedStoreSuite('postgres', async () => {
  const pg: Postgres = await startPostgres();
  return {
    open: () => openPostgresSharedStore({ url: pg.url, poolSize: 4 }),
    dispose: () => pg.stop(),
  };
});
