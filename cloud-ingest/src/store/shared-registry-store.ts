import type { RegistryFile } from '../registry-file.js';
import { writeRegistryOwners } from './device-owner-store.js';
import type { Db } from './open-database.js';
import { createRegistrySchema } from './registry-store.js';

/**
 * The registry every host serves (places, stations, edges, devices named by an admin, people and
 * the officers kept in the store with their password hashes), as ONE versioned document in
 * registry.yaml's shape (store/registry-import.ts exportRegistry). With several hosts
 * (`store.kind: postgres`) it lives in PostgreSQL (shared-store/postgres-registry.ts): each host
 * keeps its copy in its own cloud.db and imports every newer version (store/registry-replica.ts).
 */
export interface SharedRegistry {
  /** 1, 2, 3, ...: one more at every write. */
  version: number;
  doc: RegistryFile;
  /** The fingerprint of the registry.yaml imported last by any host (registry-import.ts registryFingerprint). */
  fileSha256: string | null;
}

/** What `update`'s change writes: the new document and the file fingerprint it carries. */
export interface SharedRegistryWrite {
  doc: RegistryFile;
  fileSha256: string | null;
}

export interface SharedRegistryStore {
  /** The version written last, 0 before any: one indexed read, polled by every host. */
  version(): Promise<number>;
  /** The document written last, or undefined before any. */
  read(): Promise<SharedRegistry | undefined>;
  /**
   * In one transaction that holds the document's lock (admin writes of all hosts one after the
   * other): calls `change` with the latest document (undefined before any); what it returns is
   * written as version + 1, and undefined writes nothing. `change` is synchronous (it works on the
   * host's cloud.db); a throw writes nothing and reaches the caller. Returns the document as it is
   * at commit. In the same transaction the device owners (SharedStore.deviceOwners) are set to
   * those the document at commit names, also when nothing is written (a host's start): a device
   * an admin moved is its new edge's for every host's ingest, one removed has no owner.
   */
  update(
    change: (latest: SharedRegistry | undefined) => SharedRegistryWrite | undefined,
  ): Promise<SharedRegistry | undefined>;
}

/**
 * The same in one SQLite file (the SQLite SharedStore, test/shared-registry-suite.ts); a
 * single-host cloud does not use it: its cloud.db is the registry.
 */
export function openSharedRegistryStore(db: Db): SharedRegistryStore {
  // The owners' rows (store/device-owner-store.ts) are written with the document.
  db.transaction(() => createRegistrySchema(db)).immediate();
  db.exec(`
    CREATE TABLE IF NOT EXISTS shared_registry (
      id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, doc TEXT NOT NULL,
      file_sha256 TEXT, updated_at INTEGER NOT NULL);
  `);
  const select = db.prepare<[], { version: number; doc: string; file_sha256: string | null }>(
    'SELECT version, doc, file_sha256 FROM shared_registry WHERE id = 1',
  );
  const selectVersion = db.prepare<[], { version: number }>(
    'SELECT version FROM shared_registry WHERE id = 1',
  );
  const upsert = db.prepare<[number, string, string | null, number]>(
    `INSERT INTO shared_registry (id, version, doc, file_sha256, updated_at) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc,
       file_sha256 = excluded.file_sha256, updated_at = excluded.updated_at`,
  );
  const read = (): SharedRegistry | undefined => {
    const r = select.get();
    return r === undefined
      ? undefined
      : { version: r.version, doc: JSON.parse(r.doc) as RegistryFile, fileSha256: r.file_sha256 };
  };
  const update = db.transaction(
    (change: (latest: SharedRegistry | undefined) => SharedRegistryWrite | undefined) => {
      const latest = read();
      const next = change(latest);
      if (next === undefined) {
        if (latest !== undefined) writeRegistryOwners(db, latest.doc.devices);
        return latest;
      }
      const version = (latest?.version ?? 0) + 1;
      upsert.run(version, JSON.stringify(next.doc), next.fileSha256, Date.now());
      writeRegistryOwners(db, next.doc.devices);
      return { version, doc: next.doc, fileSha256: next.fileSha256 };
    },
  );
  return {
    version: async () => selectVersion.get()?.version ?? 0,
    read: async () => read(),
    // IMMEDIATE: the write lock first, so two writers' read-change-write never interleave.
    update: async (change) => update.immediate(change),
  };
}
