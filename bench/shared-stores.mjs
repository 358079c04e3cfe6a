// What the shared-store benches measure, in one place: a real PostgreSQL 15 (test-kit) and the
// two SharedStore implementations as built (run `npx turbo run build` first).
export { startPostgres } from '@village/test-kit';
export { openPostgresSharedStore } from '../cloud-ingest/dist/shared-store/postgres-shared-store.js';
export { openSqliteSharedStore } from '../cloud-ingest/dist/shared-store/sqlite-shared-store.js';
export { openDatabase } from '../cloud-ingest/dist/store/open-database.js';
