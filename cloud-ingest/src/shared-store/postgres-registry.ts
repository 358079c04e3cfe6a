import type pg from 'pg';
import type { RegistryFile } from '../registry-file.js';
import type { SharedRegistry, SharedRegistryStore } from '../store/shared-registry-store.js';
import { writeRegistryOwners } from './postgres-device-owners.js';
import type { Query } from './postgres-query.js';

/**
 * The registry as one versioned document in PostgreSQL (`store.kind: postgres`): each host kept
 * its own copy in its own cloud.db, so a password reset, a user added or removed, a station moved
 * through one host's admin API held on that host only (the old password still logged in on the
 * others). The one row (id 1) exists from the schema's creation with version 0 and no document, so
 * even the first write takes a row lock: every write, from any host, runs under `FOR UPDATE` of
 * it, one after the other, and none is lost. The device owners the document names
 * (`shared_device_owners`, postgres-device-owners.ts) are written in the same transaction, so an
 * admin's move or removal of a device holds for every host's ingest as it does for the document.
 */
export const REGISTRY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shared_registry (
    id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL, doc JSONB,
    file_sha256 TEXT, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
  INSERT INTO shared_registry (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

/** One transaction on one connection (postgres-shared-store.ts `tx`). */
type Tx = <T>(work: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

interface Row {
  version: string;
  doc: RegistryFile | null;
  file_sha256: string | null;
}

const registryOf = (r: Row | undefined): SharedRegistry | undefined =>
  r === undefined || r.doc === null
    ? undefined
    : { version: Number(r.version), doc: r.doc, fileSha256: r.file_sha256 };

export function postgresRegistry(q: Query, tx: Tx): SharedRegistryStore {
  return {
    async version() {
      const [r] = await q<{ version: string }>('SELECT version FROM shared_registry WHERE id = 1');
      return r === undefined ? 0 : Number(r.version);
    },
    async read() {
      const [r] = await q<Row>('SELECT version, doc, file_sha256 FROM shared_registry WHERE id = 1');
      return registryOf(r);
    },
    update: (change) =>
      tx(async (c) => {
        const [r] = (
          await c.query<Row>('SELECT version, doc, file_sha256 FROM shared_registry WHERE id = 1 FOR UPDATE')
        ).rows;
        const latest = registryOf(r);
        const next = change(latest);
        // The owners the document names, in this transaction, also when nothing new is written (a
        // host's start): a document written before the owners followed it is caught up.
        if (next === undefined) {
          if (latest !== undefined) await writeRegistryOwners(c, latest.doc.devices);
          return latest;
        }
        const version = Number(r?.version ?? 0) + 1;
        await c.query(
          `UPDATE shared_registry SET version = $1, doc = $2::jsonb, file_sha256 = $3, updated_at = now()
            WHERE id = 1`,
          [version, JSON.stringify(next.doc), next.fileSha256],
        );
        await writeRegistryOwners(c, next.doc.devices);
        return { version, doc: next.doc, fileSha256: next.fileSha256 };
      }),
  };
}
